"""Moved to the :mod:`tunelint.fix` package (kept for older imports)."""
from .fixes import (  # noqa: F401
    EDIT_APPLIERS, FIX_KEYS, MAX_ITERATIONS, MAX_ROUNDS, TABLE_MODES, FileFix, FixError, Fixer, FixPolicy, LineMap,
    append_rejects, fix_in_place_for_check, get_pointer, preflight, rejects_path_for, run_stamp, set_pointer,
)
from .fixes.fixer import FATAL_PROBLEMS  # noqa: F401
