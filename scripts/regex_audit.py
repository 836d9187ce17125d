"""Audit every regular expression tunelint compiles (built-in modules and rule packs) for
super-linear time: each pattern is run (search, finditer, sub where cheap) on adversarial
texts at size n and 4n; a pattern whose time grows much more than 4x is reported.

    PYTHONPATH=src python scripts/regex_audit.py [--n 4000] [--ratio 8]

Run before a release and after adding a pattern; tests/test_promise_linear_time.py runs the
end-to-end version of this on every built-in rule.
"""
from __future__ import annotations

import argparse
import re
import sys
import time

_seen: dict[tuple, object] = {}
_orig = re.compile


def _spy(pattern, flags=0):
    p = _orig(pattern, flags)
    caller = sys._getframe(1).f_globals.get("__name__", "")
    if isinstance(pattern, str) and caller.startswith("tunelint"):
        _seen.setdefault((pattern, flags), p)
    return p


UNITS = [" ", "\n", "\t", "a", "A", "1", ".", "<", "|", "[", "{", "-", "_", "*", "#", "`", '"', "'", "\\", "/",
         ":", "\u200b", "\u00e9", "a ", "a\n", "\n ", " \n", "\n\n ", "<a", "<|", "a.", "ab ", "a-", "a,", "1.",
         "http://a", "www.", "## ", "- ", "Input: ", "\nInput:", "### ", "[INST]", "Ã©", "\r\n", "a\t",
         "word word. ", "A. ", "?", "!", ".\n", "x=", "()", "a@", "{{", "%", "$", "+", "0x", "aA", "Aa "]


def timed(fn, text):
    best = 1e9
    for _ in range(2):
        t = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - t)
    return best


def _probe(p, a, q):
    out = []
    for u in UNITS:
        k = max(1, a.n // len(u))
        small, big = u * k + "\x00", u * (4 * k) + "\x00"
        for name, fn in (("search", p.search), ("findall", p.findall)):
            t1 = timed(fn, small)
            if t1 < 2e-4 and timed(fn, big) < 2e-3:
                continue
            t4 = timed(fn, big)
            if t4 > 0.02 and t4 / max(t1, 1e-5) > a.ratio:
                out.append(f"SUPERLINEAR x{t4 / max(t1, 1e-5):.1f} ({t1*1e3:.1f}->{t4*1e3:.1f} ms) {name} unit={u!r}")
                break
    q.put(out)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--ratio", type=float, default=8.0)
    ap.add_argument("--timeout", type=float, default=20.0)
    a = ap.parse_args(argv)
    re.compile = _spy
    try:
        import tunelint.config as config
        from tunelint import engine
        import pkgutil, importlib, tunelint, tunelint.checks
        for m in pkgutil.walk_packages(tunelint.__path__, "tunelint."):
            if any(x in m.name for x in ("rayengine", "gx", "report", "__main__")):
                continue
            try:
                importlib.import_module(m.name)
            except Exception as e:  # noqa: BLE001 - an audit lists what it could not load
                print(f"skip {m.name}: {e}", file=sys.stderr)
        cfg = config.load_config(None)
        import tempfile, os, json
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.jsonl")
            with open(p, "w") as f:
                f.write(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                                 {"role": "assistant", "content": "yo"}]}) + "\n")
            engine.lint([p], cfg)
    finally:
        re.compile = _orig
    bad = 0
    pats = list(_seen.items())
    print(f"{len(pats)} patterns; n={a.n}", file=sys.stderr)
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    for (src, flags), p in pats:
        q = ctx.SimpleQueue()
        proc = ctx.Process(target=_probe, args=(p, a, q))
        proc.start()
        proc.join(a.timeout)
        if proc.is_alive():
            proc.kill()
            proc.join()
            bad += 1
            print(f"HANG (> {a.timeout} s): {src[:200]!r}", flush=True)
            continue
        for line in (q.get() if not q.empty() else []):
            bad += 1
            print(line + f": {src[:200]!r}", flush=True)
    print(f"{bad} super-linear (pattern, input) pairs", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
