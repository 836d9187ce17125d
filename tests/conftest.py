import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are reproducible in CI: a fixed derivation of the seed from each test, no example
# database carried between runs (a longer random search: see benchmarks/README and scripts/).
settings.register_profile("tunelint-ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("TUNELINT_HYPOTHESIS_PROFILE", "tunelint-ci"))

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _pack_cache(tmp_path_factory):
    """Parsed rule packs are cached under a temporary directory, never the user's ~/.cache
    (subprocesses inherit it)."""
    os.environ["TUNELINT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def fixtures():
    return FIXTURES


def run_cli(*args, input=None, cwd=None, env=None):
    """Run the real console entry point in a subprocess; returns CompletedProcess (text)."""
    import subprocess

    e = dict(os.environ)
    e.pop("GITHUB_ACTIONS", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "tunelint", *args], input=input, cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=300)
