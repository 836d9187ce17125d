"""Recall on planted defects: real Alpaca records with one known defect each (issue 17's kinds).

    python benchmarks/bench_recall.py [DATA] [-n 900] [--seed 17] [--keep DIR]

DATA defaults to ``../shared/data/alpaca/alpaca_data.jsonl``; without it the script says so and
exits 0. It writes three copies of the whole dataset to a temporary directory, each in one shape,
and runs ``python -m tunelint check --isolated --output-format json`` (this tree's ``src``) on
each copy twice, as it is and with planted defects:

- ``alpaca.jsonl``: the records as they are (instruction / input / output);
- ``chat.jsonl``: each record as an OpenAI chat (a shared system prompt, user = instruction, then
  a blank line and the input when there is one, assistant = output): a naive conversion, so
  Alpaca's own placeholders end up at the end of user turns;
- ``completion.jsonl``: legacy prompt/completion (prompt = the same text + ``\\n\\n###\\n\\n``,
  completion = ``" " + output + " END"``).

N records (default 900) are drawn with a fixed seed from those that no run of the original
files flags, and each gets one defect, kinds taken in turn; a planted record replaces the
original at its line in the copy of the kind's shape. A planted record counts as found when any
finding lands on its line (the issue's measure); "by rule" counts only the rules meant for
the kind. Printed: recall per kind and overall, the share of untouched records flagged in the
planted run, and the flagged share of each original file.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import statistics
import string
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_DATA = os.path.join(ROOT, "..", "..", "shared", "data", "alpaca", "alpaca_data.jsonl")
SYSTEM = "You are a helpful assistant."
SEP, STOP = "\n\n###\n\n", " END"


def prompt_text(r: dict) -> str:
    return r["instruction"] + ("\n\n" + r["input"] if r["input"].strip() else "")


def to_chat(r: dict) -> dict:
    return {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt_text(r)},
                         {"role": "assistant", "content": r["output"]}]}


def to_completion(r: dict) -> dict:
    return {"prompt": prompt_text(r) + SEP, "completion": " " + r["output"] + STOP}


SHAPES = {"alpaca": lambda r: r, "chat": to_chat, "completion": to_completion}


class Planter:
    """One defect per call; ``i`` is the record's index within its kind (to vary the forms)."""

    def __init__(self, records: list[dict], rng: random.Random):
        self.records, self.rng = records, rng
        self.median = statistics.median(len(r["output"].split()) for r in records)

    def other(self) -> dict:
        return self.records[self.rng.randrange(len(self.records))]

    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def url(self, i: int) -> str:
        return [f"https://www.youtube.com/watch?v={self.token(11)}",
                f"https://www.nytimes.com/2019/03/{i % 28 + 1:02d}/science/{self.token(8).lower()}-study.html",
                f"www.bbc.com/news/world-{self.rng.randrange(10**7, 10**8)}",
                f"https://medium.com/@{self.token(6).lower()}/why-{self.token(7).lower()}-matters"][i % 4]

    # --- Alpaca shape ---
    def empty_output(self, r, i):
        return dict(r, output=["", " ", "\n"][i % 3])

    def placeholder_input(self, r, i):
        return dict(r, input=["<noinput>", "No input", "N/A", "No input."][i % 4])

    def url_input(self, r, i):
        return dict(r, input=self.url(i))

    def replacement_char(self, r, i):
        o = r["output"]
        cut = [m.start() for m in re.finditer(r"(?<=\w)'(?=\w)|\s", o)] or [len(o)]
        k = cut[i % len(cut)]
        return dict(r, output=o[:k] + "\ufffd" + o[k + 1:] if o[k:k + 1] == "'" else o[:k] + " \ufffd" + o[k:])

    def draft_answer(self, r, i):
        return dict(r, output=["TODO", "TODO: write the answer", "FIXME",
                               "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
                               "lorem ipsum"][i % 5])

    def repeated_sentence(self, r, i):
        o = r["output"].rstrip()
        last = re.split(r"(?<=[.!?])\s+", o.rsplit("\n", 1)[-1])[-1]
        if re.fullmatch(r"\w[^\"\n]*[.!?]", last) and len(last.split()) >= 4:
            return dict(r, output=o + (" " + last) * 3)  # a generation stuck on its last sentence
        s = ["I hope this answer helps you.", "Let me know if you have any other questions."][i % 2]
        return dict(r, output=o + "\n\n" + " ".join([s] * 4))

    def long_answer(self, r, i):
        parts, words = [r["output"]], len(r["output"].split())
        while words < 45 * self.median:  # an off-topic dump of other answers
            o = self.other()["output"]
            parts.append(o)
            words += len(o.split())
        return dict(r, output="\n\n".join(parts))

    def merged_example(self, r, i):
        o = self.other()
        inp = o["input"] or "<noinput>"
        n = i % 8 + 2
        return dict(r, output=r["output"].rstrip() + f"\n\n{n}. Instruction: {o['instruction']}\n{n}. Input:\n{inp}\n"
                                                      f"{n}. Output:\n{o['output']}")

    def aws_key(self, r, i):
        key = "AKIA" + self.token(16, string.ascii_uppercase + "234567")
        add = [f"\n\nAWS_ACCESS_KEY_ID={key}", f" Use the access key {key} to authenticate.",
               f"\n\naws_access_key_id = {key}\naws_secret_access_key = {self.token(40)}"][i % 3]
        return dict(r, output=r["output"].rstrip() + add)

    def control_chars(self, r, i):
        o = r["output"]
        c = ["\x00", "\x07", "\x1b[0m", "\x08", "\x0c", "\x7f"][i % 6]
        k = o.find(" ", len(o) // 2)
        k = len(o) if k < 0 else k
        return dict(r, output=o[:k] + c + o[k:])

    # --- chat shape (the record is already a chat) ---
    def chat_placeholder(self, r, i):
        m = [dict(x) for x in r["messages"]]
        m[1]["content"] = m[1]["content"] + ["\n\n<noinput>", "\n\nNo input", "\n\nN/A", "\nInput: N/A",
                                             "\n\nNo input."][i % 5]
        return {"messages": m}

    def chat_url(self, r, i):
        m = [dict(x) for x in r["messages"]]
        u = m[1]["content"]
        m[1]["content"] = [f"Watch {self.url(0)} and tell me what happens in it.",
                           f"Summarize the following article.\n\n{self.url(1)}",
                           f"{u}\n\n{self.url(i // 4)}",  # a URL-only Alpaca input, converted
                           f"Read this article and list its main points: {self.url(3)}"][i % 4]
        return {"messages": m}

    def chat_assistant_first(self, r, i):
        m = [dict(x) for x in r["messages"]]
        opener = {"role": "assistant", "content": ["Hello! How can I help you today?", "Hi, what would you like to know?"][i % 2]}
        return {"messages": [m[0], opener] + m[1:]}

    def chat_wrong_role(self, r, i):
        m = [dict(x) for x in r["messages"]]
        k, role = [(2, "bot"), (1, "human"), (2, "assitant"), (1, "usr"), (2, "gpt")][i % 5]
        m[k]["role"] = role
        return {"messages": m}

    # --- prompt/completion shape ---
    def stop_only(self, r, i):
        return dict(r, completion=[" END", "END", " END\n"][i % 3])


# kind -> (shape, planter method, the rules meant for it)
KINDS = {
    "empty output": ("alpaca", "empty_output", {"C001"}),
    "stop sequence only": ("completion", "stop_only", {"C001"}),
    "placeholder input": ("alpaca", "placeholder_input", {"C002"}),
    "placeholder in chat user turn": ("chat", "chat_placeholder", {"C009"}),
    "URL as the whole input": ("alpaca", "url_input", {"C004"}),
    "URL in chat user turn": ("chat", "chat_url", {"C004"}),
    "U+FFFD in answer": ("alpaca", "replacement_char", {"E010"}),
    "TODO / lorem ipsum answer": ("alpaca", "draft_answer", {"C010", "C003", "L003"}),
    "sentence repeated 4x": ("alpaca", "repeated_sentence", {"C011"}),
    "answer 40x median": ("alpaca", "long_answer", {"S001"}),
    "merged second example": ("alpaca", "merged_example", {"C005"}),
    "AWS access key": ("alpaca", "aws_key", {"C007"}),
    "control characters": ("alpaca", "control_chars", {"E005"}),
    "chat opens with assistant": ("chat", "chat_assistant_first", {"F024"}),
    "wrong role name": ("chat", "chat_wrong_role", {"F005"}),
}


def check(path: str, cache: str) -> dict[int, list[str]]:
    """line -> codes of the findings on it."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"), TUNELINT_CACHE_DIR=cache)
    p = subprocess.run([sys.executable, "-m", "tunelint", "check", path, "--isolated", "--output-format", "json",
                        "--exit-zero", "-q"], capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode != 0:
        raise SystemExit(f"check {path} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    by_line: dict[int, list[str]] = collections.defaultdict(list)
    for d in json.loads(p.stdout)["diagnostics"]:
        if d.get("line"):
            by_line[d["line"]].append(d["code"])
    return by_line


def write(path: str, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def pct(k: int, n: int) -> str:
    return f"{k:,}/{n:,} ({100 * k / n:.1f}%)" if n else "0/0"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", default=DEFAULT_DATA, help="Alpaca JSONL (instruction/input/output per line)")
    ap.add_argument("-n", type=int, default=900, help="records to plant (default 900)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--misses", type=int, default=0, metavar="K", help="print up to K missed records per kind")
    ap.add_argument("--keep", help="write the files here and keep them (default: a temporary directory)")
    a = ap.parse_args()
    if not os.path.exists(a.data):
        print(f"bench_recall: {a.data} not found; skipped (pass the path of alpaca_data.jsonl)")
        return
    t0 = time.perf_counter()
    with open(a.data, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    rng = random.Random(a.seed)
    planter = Planter(records, rng)
    tmp = tempfile.TemporaryDirectory()
    out = a.keep or tmp.name
    os.makedirs(out, exist_ok=True)
    cache = os.path.join(tmp.name, "cache")
    shaped = {s: [conv(r) for r in records] for s, conv in SHAPES.items()}
    original = {}
    for s, rows in shaped.items():
        path = os.path.join(out, f"{s}.jsonl")
        write(path, rows)
        original[s] = check(path, cache)
    flagged_anywhere = set().union(*original.values())
    clean = [i for i in range(len(records)) if i + 1 not in flagged_anywhere]
    chosen = rng.sample(clean, min(a.n, len(clean)))
    kinds = list(KINDS)
    planted: dict[str, dict[int, str]] = {s: {} for s in SHAPES}  # shape -> line -> kind
    count = collections.Counter()
    for j, idx in enumerate(chosen):
        kind = kinds[j % len(kinds)]
        shape, method, _ = KINDS[kind]
        rows = shaped[shape]
        rows[idx] = getattr(planter, method)(rows[idx], count[kind])
        count[kind] += 1
        planted[shape][idx + 1] = kind
    found = collections.Counter()
    by_rule = collections.Counter()
    codes_seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    untouched = {}
    missed: dict[str, list[dict]] = collections.defaultdict(list)
    for s, rows in shaped.items():
        path = os.path.join(out, f"{s}-planted.jsonl")
        write(path, rows)
        res = check(path, cache)
        for line, kind in planted[s].items():
            codes = set(res.get(line, ()))
            codes_seen[kind].update(codes)
            found[kind] += bool(codes)
            by_rule[kind] += bool(codes & KINDS[kind][2])
            if not codes & KINDS[kind][2]:
                missed[kind].append(rows[line - 1])
        rest = [ln for ln in res if ln not in planted[s]]
        untouched[s] = (len(rest), len(rows) - len(planted[s]))
    n_total = sum(count.values())
    print(f"data = {os.path.normpath(a.data)}: {len(records):,} records; planted {n_total} (seed {a.seed}) "
          f"among the {len(clean):,} that no original run flags; files in {out}")
    print(f"\n{'kind':<32} {'shape':<10} {'found (any finding)':>20} {'by rule':>9}  codes on the planted lines")
    for kind in kinds:
        n = count[kind]
        seen = ", ".join(f"{c} {k}" for c, k in codes_seen[kind].most_common(6))
        print(f"{kind:<32} {KINDS[kind][0]:<10} {found[kind]:>9}/{n:<3} {100 * found[kind] / n:5.1f}% "
              f"{by_rule[kind]:>5}/{n:<3}  {seen}")
    print(f"\noverall recall: {pct(sum(found.values()), n_total)}; by the rules meant for the kind: "
          f"{pct(sum(by_rule.values()), n_total)}")
    print("\nrecords flagged")
    for s in SHAPES:
        k, n = untouched[s]
        print(f"  {s:<10} original file {pct(len(original[s]), len(records))}; planted file, untouched records "
              f"{pct(k, n)}")
    for kind in kinds if a.misses else ():
        for r in missed[kind][:a.misses]:
            print(f"missed by rule, {kind}: {json.dumps(r, ensure_ascii=False)[:400]}")
    print(f"\n{time.perf_counter() - t0:.0f} s")
    tmp.cleanup()


if __name__ == "__main__":
    main()
