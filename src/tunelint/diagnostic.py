"""Moved to :mod:`tunelint.model.diagnostic` (kept for older imports)."""
from .model.diagnostic import (  # noqa: F401 - re-exported
    SEVERITIES, SEVERITY_RANK, Diagnostic, Edit, EditOp, Fix, escape_pointer_token, pointer, row_wording,
    split_pointer,
)
