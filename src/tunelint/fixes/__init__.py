"""Applying fixes (``tunelint fix``, ``check --fix``, ``api.fix``), in parts:

- :mod:`.policy`: which fixes may run (``FixPolicy``: ``fixable``/``unfixable``, safe/unsafe);
- :mod:`.edits`: what each edit op does (``EDIT_APPLIERS``: op -> function, by the op's scope);
- :mod:`.fixer`: the two-pass, bounded-rounds fixer (``Fixer.fix_file``);
- :mod:`.writer`: the output containers, the rejects file, atomic replacement, ``preflight``;
- :mod:`.diff`: ``--diff``; :mod:`.convert`: ``--to chat|prompt-completion``.

The fixer knows no rule and no kind by name. (The package is ``fixes``, not ``fix``:
``tunelint.fix`` is the Python API's function, which a submodule of that name would shadow.)
"""
from .edits import EDIT_APPLIERS, get_pointer, set_pointer  # noqa: F401
from .fixer import MAX_ITERATIONS, MAX_ROUNDS, FileFix, Fixer, fix_in_place_for_check  # noqa: F401
from .policy import FIX_KEYS, FixPolicy  # noqa: F401
from .writer import (  # noqa: F401
    TABLE_MODES, FixError, LineMap, append_rejects, preflight, rejects_path_for, run_stamp,
)
