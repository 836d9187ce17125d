"""The per-record feature table: one row per record, shared by ``tunelint report`` (summary,
plots, Great Expectations suite) and the ``expectation`` rule kind.

Columns (every one a plain int, float or short string, so the table is easy to validate):

- ``path``, ``line``, ``format``: where the record is and how it was read;
- ``turns``: text turns; ``roles``: the record's distinct roles, sorted and comma-joined
  (``assistant,system,user``);
- ``system_chars``, ``prompt_chars``, ``answer_chars``: characters per side (the prompt side is
  user turns and Alpaca ``input``; the answer side is what the model is trained to produce,
  rejected preference branches excluded);
- ``prompt_empty``, ``answer_empty``: 1 when that side has no non-blank text, else 0;
- ``tokens``: the whole example under the target (``tunelint.tokens.count_record``: chat
  overheads included); ``system_tokens``, ``prompt_tokens``, ``answer_tokens``,
  ``tool_tokens``: each side's own text tokens (no overhead);
- ``is_duplicate``: 1 when the record is an exact copy of an earlier one (canonical JSON), so
  its mean is the duplicate share; ``duplicate_prompt``: 1 when an earlier record has the same
  prompt (every turn before the last answer);
- ``label``: the record's ``label`` field when it is a string, number or boolean, else its last
  answer trimmed (first 200 characters): the class of classification data;
- style of the last answer (``tunelint.style_features``): ``words``, ``sentences``,
  ``sentence_len``, ``upper``, ``emoji``, ``opener``, ``end``, ``list_style``, ``script``,
  ``person``.

Token and style columns cost time; :class:`FeatureCollector` computes only the groups asked for.
pandas is imported only by :meth:`FeatureCollector.frame`.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any, Iterable

BASE = ("path", "line", "format", "turns", "roles", "system_chars", "prompt_chars", "answer_chars",
        "prompt_empty", "answer_empty", "is_duplicate", "duplicate_prompt", "label")
TOKENS = ("tokens", "system_tokens", "prompt_tokens", "answer_tokens", "tool_tokens")
STYLE = ("words", "sentences", "sentence_len", "upper", "emoji", "opener", "end", "list_style",
         "script", "person")
COLUMNS = BASE + TOKENS + STYLE
SIDE = {"system": "system", "prompt": "prompt", "input": "prompt", "answer": "answer", "tool": "tool"}
LABEL_CHARS = 200


def groups_for(columns: Iterable[str]) -> tuple[bool, bool]:
    """(tokens needed, style needed) for these column names."""
    cols = set(columns)
    return bool(cols & set(TOKENS)), bool(cols & set(STYLE))


class _TokenCounter:
    """Exact counts through tunelint.tokens, each distinct string of a record encoded once."""

    def __init__(self, target):
        from . import tokens

        self.t = tokens
        self.target = target
        self.enc = target.encoding
        self.small: dict[str, int] = {}  # role names and other short strings, across records
        self.model = tokens.chat_model(target)  # --tokenizer: the rendered chat template's tokens

    def record(self, rec) -> tuple[int, list[tuple[Any, int]]]:
        t = self.t
        if self.model is not None:
            from . import chat

            per_turn = [(x, self.model.count_text(x.text)) for x in rec.turns if x.text is not None]
            return chat.count_record(rec, self.model), per_turn
        enc = self.enc
        memo: dict[str, int] = {}
        small = self.small

        def count(s: str, _enc: str = enc) -> int:
            if len(s) <= 16:
                n = small.get(s)
                if n is None:
                    n = small[s] = t.count_text(s, enc)
                return n
            n = memo.get(s)
            if n is None:
                n = memo[s] = t.count_text(s, enc)
            return n

        per_turn = [(x, count(x.text)) for x in rec.turns if x.text is not None]
        total = t.count_record(rec, self.target, count)
        return total, per_turn


def _count_batch(enc: str, items: list) -> list:
    """Worker process: exact token counts for a batch of records given as (overhead, shared
    strings, branches, turn texts); the same formula as tunelint.tokens.count_record."""
    from . import tokens

    memo: dict[str, int] = {}

    def c(s: str) -> int:
        n = memo.get(s)
        if n is None:
            n = tokens.count_text(s, enc)
            if len(s) <= 16:
                memo[s] = n
        return n

    out = []
    for ov, shared, branches, texts in items:
        total = ov + sum(c(x) for x in shared)
        if branches:
            total += max(sum(c(x) for x in b) for b in branches)
        out.append((total, [c(x) for x in texts]))
    return out


BATCH = 2000
KEY = 12  # bytes of a record's or prompt's duplicate key
NO_KEY = bytes(KEY)


class FeatureCollector:
    """Accumulates feature rows column by column (``add``), mergeable for ``--jobs``."""

    def __init__(self, target=None, tokens: bool = True, style: bool = True):
        self.target = target
        self.want_tokens = tokens and target is not None
        self.want_style = style
        self.columns = BASE + (TOKENS if self.want_tokens else ()) + (STYLE if style else ())
        self.data: dict[str, list] = {c: [] for c in self.columns}
        self._seen: set[bytes] = set()
        self._seen_prompts: set[bytes] = set()
        #: each row's record key and prompt key (KEY bytes each; zeros: no prompt), so ``merge``
        #: can flag a copy whose original is in an earlier part (--jobs output = --jobs 1)
        self._keys = bytearray()
        self._pkeys = bytearray()
        self._tok = _TokenCounter(target) if self.want_tokens else None
        self._pool = None  # a worker process counting tokens while the engine runs (see parallel())
        self._batch: list = []
        self._meta: list = []
        self._futures: list = []
        #: tokens and text turns per role over the whole table (summary)
        self.role_tokens: Counter = Counter()
        self.role_turns: Counter = Counter()
        #: (tokens, path, line) of the longest records
        self.longest: list[tuple[int, str, int]] = []
        #: display path -> the path it was read from
        self.sources: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.data["line"])

    # picklable (--jobs sends dataset-check state back from worker processes)
    def __getstate__(self):
        self.settle()
        d = dict(self.__dict__)
        d["_tok"] = None
        d["_pool"] = None
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        if self.want_tokens:
            self._tok = _TokenCounter(self.target)

    # an engine sink (tunelint.engine.Sink): one row per record of a lint() pass
    def start_file(self, run) -> None:
        self.sources[run.display] = run.path

    def record(self, rec, run) -> None:
        self.add(rec, run.display)

    def end(self) -> None:
        self.settle()

    splittable = True  # merge() gives what one pass would (duplicate flags included)

    def fork(self) -> "FeatureCollector":
        return FeatureCollector(self.target, tokens=self.want_tokens, style=self.want_style)

    def add(self, rec, path: str | None = None) -> dict[str, Any]:
        from .checks.duplicates import prompt_answer

        row: dict[str, Any] = {"path": path or rec.path, "line": rec.line, "format": rec.format}
        roles = set()
        chars = {"system": 0, "prompt": 0, "answer": 0, "tool": 0}
        nonblank = {"prompt": False, "answer": False}
        last_answer = None
        nturns = 0
        for t in rec.turns:
            if t.text is None:
                continue
            nturns += 1
            roles.add(t.role)
            side = SIDE.get(t.kind, "tool")
            if t.branch == "rejected" and side == "answer":
                continue
            chars[side] += len(t.text)
            if side in nonblank and t.text.strip():
                nonblank[side] = True
            if side == "answer":
                last_answer = t
        row["turns"] = nturns
        row["roles"] = ",".join(sorted(roles))
        row["system_chars"] = chars["system"]
        row["prompt_chars"] = chars["prompt"]
        row["answer_chars"] = chars["answer"]
        row["prompt_empty"] = 0 if nonblank["prompt"] else 1
        row["answer_empty"] = 0 if nonblank["answer"] else 1
        key = hashlib.blake2b(rec.canonical, digest_size=KEY).digest()
        row["is_duplicate"] = 1 if key in self._seen else 0
        self._seen.add(key)
        self._keys += key
        pa = prompt_answer(rec)
        if pa is not None:
            pk = hashlib.blake2b(pa[0], digest_size=KEY).digest()
            row["duplicate_prompt"] = 1 if pk in self._seen_prompts else 0
            self._seen_prompts.add(pk)
            self._pkeys += pk
        else:
            row["duplicate_prompt"] = 0
            self._pkeys += NO_KEY
        lab = rec.obj.get("label") if isinstance(rec.obj, dict) else None
        if isinstance(lab, (str, int, float, bool)):
            row["label"] = str(lab).lower() if isinstance(lab, bool) else str(lab)
        else:
            row["label"] = (last_answer.text.strip()[:LABEL_CHARS] if last_answer is not None else "")
        deferred = None
        if self._tok is not None:
            if self._pool is not None:
                deferred = self._defer(rec, row["path"])
                for c in TOKENS:
                    row[c] = 0
            else:
                total, per_turn = self._tok.record(rec)
                self._apply_tokens(row, total, [(t.role, t.kind, t.branch, n) for t, n in per_turn], rec.line)
        else:
            for t in rec.turns:
                if t.text is not None:
                    self.role_turns[t.role] += 1
        if self.want_style:
            from .style_features import turn_features

            f = turn_features(last_answer.text) if last_answer is not None else {}
            for c in STYLE:
                v = f.get(c)
                row[c] = v if v is not None else ("none" if c in ("opener", "end", "list_style", "script", "person") else 0)
        for c in self.columns:
            self.data[c].append(row[c])
        if deferred is not None:
            deferred[0] = len(self) - 1
        return row

    def _apply_tokens(self, row: dict, total: int, per_turn: list, line: int) -> None:
        side_tok = {"system": 0, "prompt": 0, "answer": 0, "tool": 0}
        for role, knd, branch, n in per_turn:
            self.role_tokens[role] += n
            self.role_turns[role] += 1
            if branch == "rejected" and knd == "answer":
                continue
            side_tok[SIDE.get(knd, "tool")] += n
        row["tokens"] = total
        row["system_tokens"] = side_tok["system"]
        row["prompt_tokens"] = side_tok["prompt"]
        row["answer_tokens"] = side_tok["answer"]
        row["tool_tokens"] = side_tok["tool"]
        self._keep_longest(total, row["path"], line)

    # -- counting tokens in a worker process ------------------------------------------------
    def parallel(self) -> bool:
        """Count tokens in one worker process (overlapping the engine's pass) from now on.
        False when that is not possible here (no fork, one CPU, tokens' internals changed)."""
        import multiprocessing

        if self._tok is None or self._pool is not None:
            return self._pool is not None
        from .forkmap import cpus

        if cpus() < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return False
        if self._tok.model is not None:
            return False  # a model tokenizer renders records in this process (the view is per record)
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        return True

    def _defer(self, rec, path: str) -> list:
        t = self._tok.t
        p = t.record_parts(rec, self.target, self._tok.enc)
        texts, meta = [], []
        for x in rec.turns:
            if x.text is not None:
                texts.append(x.text)
                meta.append((x.role, x.kind, x.branch))
        self._batch.append((p.overhead + p.negative, p.shared, list(p.branches.values()), texts))
        slot = [None, path, rec.line, meta]
        self._meta.append(slot)
        if len(self._batch) >= BATCH:
            self._submit()
        return slot

    def _submit(self) -> None:
        if self._batch:
            fut = self._pool.submit(_count_batch, self._tok.enc, self._batch)
            self._futures.append((fut, self._meta))
            self._batch, self._meta = [], []

    def settle(self) -> None:
        """Wait for the worker's counts and write them into the table."""
        if self._pool is None:
            return
        self._submit()
        try:
            for fut, metas in self._futures:
                for (total, counts), (i, path, line, meta) in zip(fut.result(), metas):
                    row = {"path": path}
                    self._apply_tokens(row, total, [(*m, n) for m, n in zip(meta, counts)], line)
                    for c in TOKENS:
                        self.data[c][i] = row[c]
        finally:
            self._futures = []
            self._pool.shutdown()
            self._pool = None

    def _keep_longest(self, n: int, path: str, line: int, k: int = 10) -> None:
        lst = self.longest
        if len(lst) < k or n > lst[-1][0]:
            lst.append((n, path, line))
            lst.sort(key=lambda x: (-x[0], x[1], x[2]))
            del lst[k:]

    def merge(self, other: "FeatureCollector") -> None:
        """Append a later part of the same file (--jobs). A row of ``other`` whose record (or
        prompt) is in an earlier part is flagged as a copy too, as one process would have."""
        other.settle()
        self.settle()
        for col, keys, seen in (("is_duplicate", other._keys, self._seen), ("duplicate_prompt", other._pkeys, self._seen_prompts)):
            flags = other.data[col]
            for i in range(len(flags)):
                k = bytes(keys[i * KEY:(i + 1) * KEY])
                if not flags[i] and k != NO_KEY and k in seen:
                    flags[i] = 1
        self._keys += other._keys
        self._pkeys += other._pkeys
        for c in self.columns:
            self.data[c].extend(other.data[c])
        self.role_tokens.update(other.role_tokens)
        self.role_turns.update(other.role_turns)
        for x in other.longest:
            self._keep_longest(*x)
        self._seen |= other._seen
        self._seen_prompts |= other._seen_prompts

    def frame(self):
        """The table as a pandas DataFrame (pandas imported here only)."""
        from .extras import require

        pd = require("pandas", "report", "the feature table")

        self.settle()

        return pd.DataFrame(self.data, columns=list(self.columns))
