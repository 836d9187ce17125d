"""Moved to :mod:`tunelint.fix.convert` (kept for older imports)."""
from .fixes.convert import NO_INPUT, ConvertError, convert  # noqa: F401
