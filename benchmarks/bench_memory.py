"""Peak memory of `tunelint check` on a large JSONL file against the `--memory` budget.

    python benchmarks/bench_memory.py [--size-mb 2000] [--memory none,1GB,256MB] [--jobs 1] [--select CODES]
    python benchmarks/bench_memory.py --file /tmp/tunelint-bench/scale_independent_1000000.jsonl  # 1M records

Generates (once per size, cached in /tmp/tunelint-bench/) a JSONL file of varied chat records:
1-6 turns, optional system prompts, answers from a few words to a few thousand characters,
a Zipf-distributed vocabulary of 30,000 pseudo-words with some non-ASCII text, tool calls now and then, and ~3% exact duplicates (so the dataset rules
keep state). Then runs ``tunelint check --memory M`` on it for each budget M in ``--memory`` (default
``none,1GB``: without a bound and with the default one, in the same run) and prints each run's
peak RSS (``ru_maxrss`` of that child, from ``os.wait4``: what ``/usr/bin/time -v`` reports)
next to its budget, CPU and wall time, and a digest of the JSON findings (equal for every budget).

Prints figures; asserts nothing. Use ``--size-mb 200`` for a quick run.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time

WORK = "/tmp/tunelint-bench"
SYLLABLES = ("ka to ri mo sen la de ver an is ex pro con ta ble ment tion ing er al "
             "café naï ré 数 模 дан от").split()


def vocabulary(rnd: random.Random, n: int = 30000) -> tuple[list[str], list[float]]:
    """Pseudo-words with Zipf frequencies, so texts look like language (and rarely like each other)."""
    words = ["".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(1, 4))) for _ in range(n)]
    words[:12] = ["the", "a", "of", "and", "to", "in", "is", "it", "that", "for", "you", "😀"]
    import itertools

    cum = list(itertools.accumulate(1.0 / (i + 1) for i in range(n)))
    return words, cum


VOCAB: tuple[list[str], list[float]] = ([], [])


def sentence(rnd: random.Random, lo: int, hi: int) -> str:
    words, cum = VOCAB
    return " ".join(rnd.choices(words, cum_weights=cum, k=rnd.randint(lo, hi))).capitalize() + rnd.choice(".?!")


def record(rnd: random.Random, i: int) -> dict:
    msgs = []
    if rnd.random() < 0.4:
        msgs.append({"role": "system", "content": rnd.choice(["You are a helpful assistant.", "Answer briefly.", sentence(rnd, 5, 30)])})
    for _ in range(rnd.randint(1, 3)):
        msgs.append({"role": "user", "content": f"{sentence(rnd, 3, 40)} #{i}"})
        if rnd.random() < 0.05:
            msgs.append({"role": "assistant", "tool_calls": [{"id": f"c{i}", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "%d"}' % i}}]})
            msgs.append({"role": "tool", "tool_call_id": f"c{i}", "content": sentence(rnd, 3, 20)})
        n = rnd.choice((1, 2, 4, 8, 16, 40))
        msgs.append({"role": "assistant", "content": " ".join(sentence(rnd, 4, 25) for _ in range(n))})
    return {"messages": msgs}


def generate(path: str, size_mb: int, seed: int = 1) -> int:
    import orjson

    global VOCAB
    rnd = random.Random(seed)
    VOCAB = vocabulary(rnd)
    target = size_mb * 1_000_000
    written = n = 0
    recent: list[bytes] = []
    tmp = path + ".tmp"
    with open(tmp, "wb", buffering=1 << 20) as f:
        while written < target:
            if recent and rnd.random() < 0.03:
                line = rnd.choice(recent)  # an exact duplicate
            else:
                line = orjson.dumps(record(rnd, n)) + b"\n"
                if len(recent) < 2000:
                    recent.append(line)
                else:
                    recent[rnd.randrange(2000)] = line
            f.write(line)
            written += len(line)
            n += 1
    os.replace(tmp, path)
    return n


def tunelint_cmd() -> list[str]:
    exe = shutil.which("tunelint")
    return [exe] if exe else [sys.executable, "-m", "tunelint"]


def _tree_rss(root: int) -> dict[int, tuple[int, int]]:
    """(RSS, PSS) in bytes of ``root`` and each of its descendants (``/proc``)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    st = f.read()
                parent[int(d)] = int(st[st.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(c for c, pp in parent.items() if pp == pid and c not in tree)
    out = {}
    for pid in tree:
        try:  # Rss and Pss (pages shared with forked workers counted once, in shares)
            with open(f"/proc/{pid}/smaps_rollup") as f:
                v = {ln.split(":")[0]: int(ln.split()[1]) * 1024 for ln in f if ln.startswith(("Rss:", "Pss:"))}
            out[pid] = (v["Rss"], v["Pss"])
        except (OSError, ValueError, IndexError, KeyError):
            pass
    return out


class RssSampler:
    """Samples a process tree every ``every`` seconds (a thread): the peak of the summed PSS
    (proportional set size: copy-on-write pages shared by forked workers are counted once, so
    the sum is the memory the run holds: what the budget covers with ``--jobs``), the peak of the
    summed RSS (shared pages counted in every process), the most processes at once and each
    process's own peak RSS."""

    def __init__(self, root: int, every: float = 0.25, trace: str | None = None):
        import threading

        self.root, self.every, self.total, self.rss_sum, self.most, self.each = root, every, 0, 0, 0, {}
        self.trace = open(trace, "a") if trace else None  # one line per sample: seconds, then pid:PSS MB
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            got = _tree_rss(self.root)
            self.total = max(self.total, sum(p for _, p in got.values()))
            self.rss_sum = max(self.rss_sum, sum(r for r, _ in got.values()))
            self.most = max(self.most, len(got))
            for pid, (r, _) in got.items():
                self.each[pid] = max(self.each.get(pid, 0), r)
            if self.trace is not None:
                self.trace.write(f"{time.perf_counter() - self.t0:.1f} " + " ".join(
                    f"{pid}:{p / 1e6:.0f}" for pid, (_, p) in sorted(got.items())) + "\n")
                self.trace.flush()
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


def run_check(cmd: list[str], env: dict, trace: str | None = None) -> dict:
    """One ``tunelint check`` child: wall, CPU, peak RSS (``ru_maxrss`` of that child, from wait4)
    and, sampled from ``/proc``, the peak of the summed PSS and RSS of the child and its workers."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    sampler = RssSampler(p.pid, trace=trace)
    out = bytearray()
    while True:  # read stdout as it comes (a large report must not block the child)
        b = p.stdout.read(1 << 16)
        if not b:
            break
        out += b
    err = p.stderr.read()
    sampler.stop()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    each = sorted(sampler.each.items())  # the parent first (lowest pid), then its workers
    return {"wall": time.perf_counter() - t0, "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss * 1024,
            "total": sampler.total, "rss_sum": sampler.rss_sum, "most": sampler.most, "each": [v for _, v in each], "rc": p.returncode, "out": bytes(out), "err": err}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=2000)
    ap.add_argument("--file", default=None, help="check this JSONL file instead of generating one (e.g. bench_scaling.py's "
                    "/tmp/tunelint-bench/scale_independent_1000000.jsonl for 1M records)")
    ap.add_argument("--jobs", default="1", help="--jobs of the check; 'default' leaves it out (tunelint's default)")
    ap.add_argument("--memory", default="none,1GB",
                    help="comma-separated --memory budgets, each run in turn on the same file (none: no bound); "
                         "findings must be the same for every budget")
    ap.add_argument("--select", default=None, help="rule selection (default: the default rule set)")
    ap.add_argument("--ignore", default=None, help="rules to leave out, e.g. D003,D004,D005,D006,D007 to see the near-duplicate rules' share")
    ap.add_argument("--trace", default=None, help="write each budget's samples (seconds, pid:PSS MB ...) to TRACE.<budget>")
    ap.add_argument("--keep", action="store_true", help="keep the generated file (it is cached by size otherwise too)")
    ap.add_argument("--delete", action="store_true", help="delete the generated file afterwards")
    args = ap.parse_args()

    os.makedirs(WORK, exist_ok=True)
    path = args.file or os.path.join(WORK, f"chat_{args.size_mb}mb.jsonl")
    if not os.path.exists(path):
        free = shutil.disk_usage(WORK).free
        if free < args.size_mb * 1_000_000 * 1.2:
            sys.exit(f"not enough space in {WORK}: {free / 1e9:.1f} GB free")
        t0 = time.perf_counter()
        n = generate(path, args.size_mb)
        print(f"generated {path}: {n:,} records in {time.perf_counter() - t0:.0f}s")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        lines = sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 24), b""))

    base = tunelint_cmd() + ["check", "--isolated", "--exit-zero", "-q", "--output-format", "json"]
    if args.jobs != "default":
        base += ["-j", str(int(args.jobs))]
    if args.select:
        base += ["--select", args.select]
    if args.ignore:
        base += ["--ignore", args.ignore]
    env = dict(os.environ, NO_COLOR="1")
    env.pop("GITHUB_ACTIONS", None)
    try:
        la = os.getloadavg()
        print(f"{os.cpu_count()} CPUs, load average {la[0]:.2f} (shared machine: wall times are noisy)")
    except OSError:
        pass
    print(f"file: {path}: {size / 1e9:.2f} GB, {lines:,} records; command: {' '.join(base[1:])} --memory M FILE")
    first = None
    print(f"{'--memory':>9} {'peak RSS':>10} {'total':>8} {'budget':>8} {'total/budget':>12} {'CPU s':>7} {'wall s':>7}  findings")
    for m in args.memory.split(","):
        r = run_check(base + ["--memory", m, path], env, args.trace and f"{args.trace}.{m}")
        if r["rc"] != 0:
            print(f"tunelint exited {r['rc']}: {r['err'].decode(errors='replace')[-800:]}")
            continue
        import hashlib

        digest = hashlib.sha256(r["out"]).hexdigest()[:12]
        first = first or digest
        budget = None if m.lower() == "none" else _size(m)
        total = max(r["total"], r["rss"])
        ratio = f"{total / budget:.2f}" if budget else "-"
        print(f"{m:>9} {r['rss'] / 1e6:>8.0f}MB {total / 1e6:>6.0f}MB {(f'{budget / 1e6:.0f}MB' if budget else '-'):>8} {ratio:>12} "
              f"{r['cpu']:>7.1f} {r['wall']:>7.1f}  sha256 {digest} {'(same)' if digest == first else '(DIFFERENT)'}", flush=True)
        if len(r["each"]) > 1:
            print(f"{'':>9} {len(r['each'])} processes ({r['most']} at once), summed RSS peak {r['rss_sum'] / 1e6:.0f}MB; "
                  "each one's peak RSS: " + ", ".join(f"{v / 1e6:.0f}MB" for v in r["each"]), flush=True)
    print("peak RSS: ru_maxrss from wait4 (the largest single process); total: the peak of the summed PSS "
          "of the process and its workers (shared pages once), sampled every 0.25 s")
    if args.delete:
        os.remove(path)


def _size(v: str) -> int:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
    from tunelint.config import parse_size

    return parse_size(v, "--memory", "bench")


if __name__ == "__main__":
    main()
