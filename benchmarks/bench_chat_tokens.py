"""--tokenizer on a Qwen-sized vocabulary: tunelint's trainer-view check against transformers'
``apply_chat_template`` looping over the same records, in the same run; and the counts.

    python benchmarks/bench_chat_tokens.py [--data FILE] [--limit N] [--reps 3]
    python benchmarks/bench_chat_tokens.py --counts [FILES...]

1. Builds a Hugging Face ``tokenizer.json`` from tunelint's shipped Qwen vocabulary (151,643
   merges + Qwen2.5's 22 special tokens, NFC normalizer, Qwen's split pattern) with
   ``transformers.convert_slow_tokenizer.TikTokenConverter``, and writes ``tokenizer_config.json``
   with Qwen2.5's chat template (cached in /tmp/tunelint-bench/qwen-hf/).
2. Times ``tunelint check FILE --tokenizer DIR --select L001,L004,L005,L006,L007 --jobs 1``
   (a subprocess, interpreter start included: byte bounds first, only records near the limit
   encoded; ``--max-seq-len`` from ``--seq-len``, default 2,048).
3. Times ``transformers.PreTrainedTokenizerFast.apply_chat_template(messages, tokenize=True)``
   over the same records (parsed beforehand, parsing not timed): what a script that counts every
   record with transformers does.
4. Checks the counts are equal: every record's token count through ``tunelint.chat`` (the
   shipped tiktoken vocabulary AND the converted tokenizer.json) against transformers'.

``--counts`` prints the measured token counts (total, mean, p50/p99/max, records over 2,048/4,096)
of the given files under the shipped open tokenizers (builtin:qwen2.5, builtin:qwen3 and, with
mistral-common installed, mistral:tekken_240718.json) next to o200k_base/cl100k_base with OpenAI's
chat overhead.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
CACHE = Path("/tmp/tunelint-bench/qwen-hf")
DEFAULT_DATA = "/work/shared/data/alpaca/alpaca_data.jsonl"


def build_hf_qwen() -> Path:
    if (CACHE / "tokenizer.json").is_file():
        return CACHE
    import gzip
    import tempfile

    from tokenizers import AddedToken, normalizers
    from transformers.convert_slow_tokenizer import TikTokenConverter

    from tunelint.chat import _QWEN25_SPECIAL, QWEN_PAT, _data

    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(suffix=".tiktoken", delete=False) as f:
        f.write(gzip.open(_data("qwen.tiktoken.gz")).read())
    tok = TikTokenConverter(vocab_file=f.name, pattern=QWEN_PAT,
                            additional_special_tokens=list(_QWEN25_SPECIAL)).converted()
    os.unlink(f.name)
    tok.normalizer = normalizers.NFC()
    have = set(tok.get_vocab(with_added_tokens=True))
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in _QWEN25_SPECIAL if s not in have])
    tok.save(str(CACHE / "tokenizer.json"))
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
           "chat_template": Path(_data("qwen2.5.jinja")).read_text(), "model_max_length": 131072}
    (CACHE / "tokenizer_config.json").write_text(json.dumps(cfg))
    return CACHE


def records(path: str, limit: int | None):
    from tunelint.config import load_config
    from tunelint.engine import FileRun

    cfg = load_config(isolated=True, select=["L001"])
    out = []
    for ev in FileRun(path, cfg).events():
        if ev.record is not None:
            out.append(ev.record)
            if limit and len(out) >= limit:
                break
    return out


def speed(args) -> None:
    from transformers import PreTrainedTokenizerFast

    from tunelint import chat

    d = build_hf_qwen()
    recs = records(args.data, args.limit)
    convs = [chat.conversations(r) for r in recs]
    msgs = [(c[0].messages, c[0].tools) for c in convs if c and c[0].messages is not None]
    print(f"{args.data}: {len(recs):,} records ({len(msgs):,} conversations); load average {os.getloadavg()[0]:.2f}")
    ref = PreTrainedTokenizerFast.from_pretrained(str(d))
    data = args.data
    if args.limit:
        data = "/tmp/tunelint-bench/chat-bench-head.jsonl"
        with open(args.data, "rb") as src, open(data, "wb") as dst:
            for i, line in enumerate(src):
                if i >= args.limit:
                    break
                dst.write(line)
    cmd = [sys.executable, "-m", "tunelint", "check", data, "--isolated", "--tokenizer", str(d),
           "--select", "L001,L004,L005,L006,L007", "--max-seq-len", str(args.seq_len), "--jobs", "1", "-q",
           "--exit-zero"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t_lint, t_hf = [], []
    for _ in range(args.reps):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        t_lint.append(time.perf_counter() - t)
        t = time.perf_counter()
        n_hf = 0
        for m, tools in msgs:
            n_hf += len(ref.apply_chat_template(m, tools=tools, tokenize=True, return_dict=False))
        t_hf.append(time.perf_counter() - t)
    lint, hf = statistics.median(t_lint), statistics.median(t_hf)
    print(f"tunelint check --tokenizer (L001,L004-L007, seq len {args.seq_len:,}): median {lint:.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in t_lint)})")
    print(f"transformers apply_chat_template(tokenize=True) loop:       median {hf:.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in t_hf)}); {n_hf:,} tokens")
    print(f"ratio tunelint / transformers: {lint / hf:.2f}x")
    # equality: every record, both tunelint paths, against transformers
    shipped = chat.load("builtin:qwen2.5")
    hfmodel = chat.load(str(d))
    diff = 0
    for m, tools in msgs:
        want = len(ref.apply_chat_template(m, tools=tools, tokenize=True, return_dict=False))
        text = shipped.render(m, tools)
        if shipped.count(text) != want or hfmodel.count(hfmodel.render(m, tools)) != want:
            diff += 1
    print(f"counts equal to transformers' on {len(msgs) - diff:,} of {len(msgs):,} records "
          f"(shipped tiktoken vocabulary and converted tokenizer.json)")


def counts(args) -> None:
    from tunelint import chat, tokens
    from tunelint.rules import Target

    models = ["builtin:qwen2.5", "builtin:qwen3"]
    try:
        import mistral_common  # noqa: F401

        models.append("mistral:tekken_240718.json")
    except ImportError:
        print("(mistral-common not installed: Mistral Tekken skipped)")
    for path in args.files or [DEFAULT_DATA, "/work/shared/data/sharegpt/sharegpt_v3_first3000.jsonl"]:
        recs = records(path, args.limit)
        print(f"\n{path}: {len(recs):,} records")
        print(f"  {'counted with':<34}{'total':>13}{'mean':>9}{'p50':>8}{'p99':>8}{'max':>9}{'>2,048':>8}{'>4,096':>8}{'errors':>8}")
        rows = []
        for enc in ("o200k_base", "cl100k_base"):
            t = Target(name=enc, encoding=enc, max_tokens=None, min_examples=1)
            rows.append((f"{enc} + OpenAI overhead", [tokens.count_record(r, t) for r in recs], 0))
        for spec in models:
            m = chat.load(spec)
            ns, errors = [], 0
            for r in recs:
                v = chat.view(r, m)
                if v.error is not None:
                    errors += 1
                    continue
                ns.append(v.longest().count() if v.sides else 0)
            rows.append((spec + " template", ns, errors))
        for name, ns, errors in rows:
            v = sorted(ns)
            p = lambda q: v[max(0, -(-len(v) * q // 100) - 1)]  # noqa: E731 nearest rank
            print(f"  {name:<34}{sum(v):>13,}{sum(v) / len(v):>9.1f}{p(50):>8,}{p(99):>8,}{v[-1]:>9,}"
                  f"{sum(x > 2048 for x in v):>8,}{sum(x > 4096 for x in v):>8,}{errors:>8,}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=None, help="first N records only")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seq-len", type=int, default=2048)
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    counts(args) if args.counts else speed(args)


if __name__ == "__main__":
    main()
