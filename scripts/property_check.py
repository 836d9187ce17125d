"""Run the promise property suites for longer than CI does (before a release).

    python scripts/property_check.py [--examples 2000] [--seed N] [--shrink]

CI runs each suite with 40 derandomized examples (about a minute in all). This runs the check
and fix property suites with more examples and a random (or given) seed; a failure prints the
falsifying example and the seed to reproduce it with
``TUNELINT_FUZZ_SEED=N TUNELINT_FUZZ_EXAMPLES=M python -m pytest tests/test_promise_*properties.py``.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

SUITES = ["tests/test_promise_check_properties.py", "tests/test_promise_fix_properties.py"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--shrink", action="store_true", help="shrink a failure to a minimal example (slow)")
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else random.randrange(2 ** 31)
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, TUNELINT_FUZZ_EXAMPLES=str(a.examples), TUNELINT_FUZZ_SEED=str(seed),
               TUNELINT_HYPOTHESIS_PROFILE="default")
    if a.shrink:
        env["TUNELINT_FUZZ_SHRINK"] = "1"
    print(f"seed {seed}, {a.examples} examples per property", flush=True)
    rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITES], cwd=root, env=env)
    if rc:
        print(f"reproduce: TUNELINT_FUZZ_SEED={seed} TUNELINT_FUZZ_EXAMPLES={a.examples} python -m pytest {' '.join(SUITES)}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
