"""Shared hypothesis strategies: valid records of every supported format, mutations of them, and
the containers tunelint reads (JSONL, ``.jsonl.gz``, JSON array, CRLF).

Extend by adding an entry to :data:`FORMATS` (format name -> strategy of one parsed record); every
property suite that draws from :func:`records`, :func:`datasets` or :func:`dataset_files` picks it up.

    from strategies import FORMATS, dataset_files, records
    FORMATS["my-format"] = st.builds(lambda q, a: {"q": q, "a": a}, text(), text())

Mutations work on the parsed object (:func:`mutate_obj`: missing/misspelt keys, wrong types,
nulls, deep nesting, huge numbers, control characters, mixed formats) and on the serialized line
(:func:`mutate_line`: truncation, invalid UTF-8 bytes, stray control bytes, lone surrogates,
raw CR). A dataset file is a list of lines written by one of :data:`CONTAINERS`.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Callable

from hypothesis import strategies as st

# ---------------------------------------------------------------------------- text
# Mostly ordinary words, with the characters that break things sprinkled in: whitespace at the
# edges, zero-width and bidi characters, emoji (astral plane), CJK, placeholders, escapes.
_WORDS = ["the", "answer", "is", "Python", "fine-tune", "fine-tuning", "data set", "dataset",
          "<noinput>", "N/A", "###", "\n", "  ", "\t", "\u200b", "\u00a0", "é", "日本語", "🙂",
          "\\n", "\"quoted\"", "{", "}", "```", "END", "<|im_end|>", "Answer:", "\r\n"]

_word = st.sampled_from(_WORDS) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x1F9FF), min_size=1, max_size=8)


def text(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    """A short string of words and odd characters (never a lone surrogate: those are mutations)."""
    return st.lists(_word, min_size=min_size, max_size=max_size).map(" ".join)


def nonempty_text() -> st.SearchStrategy[str]:
    return text(min_size=1)


# ---------------------------------------------------------------------------- formats
_ident = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


@st.composite
def _tool_call(draw, name: str | None = None) -> dict:
    args = draw(st.dictionaries(_ident, st.integers(-5, 5) | text(max_size=3), max_size=3))
    return {"id": "call_" + draw(st.from_regex(r"[A-Za-z0-9]{4,10}", fullmatch=True)),
            "type": "function",
            "function": {"name": name or draw(_ident), "arguments": json.dumps(args, ensure_ascii=False)}}


def _tool_decl(name: str) -> dict:
    return {"type": "function", "function": {"name": name, "description": "a tool",
                                             "parameters": {"type": "object", "properties": {}}}}


@st.composite
def chat(draw) -> dict:
    """OpenAI chat: optional system, user/assistant turns, optional tool call + tool result,
    optional per-assistant ``weight`` and ``tools`` declarations."""
    msgs: list[dict] = []
    if draw(st.booleans()):
        msgs.append({"role": draw(st.sampled_from(["system", "developer"])), "content": draw(text())})
    tools: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        msgs.append({"role": "user", "content": draw(nonempty_text())})
        if draw(st.integers(0, 4)) == 0:
            name = draw(_ident)
            tools.append(name)
            call = draw(_tool_call(name))
            msgs.append({"role": "assistant", "content": None, "tool_calls": [call]})
            msgs.append({"role": "tool", "tool_call_id": call["id"], "content": draw(text())})
        a = {"role": "assistant", "content": draw(nonempty_text())}
        if draw(st.integers(0, 3)) == 0:
            a["weight"] = draw(st.sampled_from([0, 1]))
        msgs.append(a)
    rec: dict[str, Any] = {"messages": msgs}
    if tools:
        rec["tools"] = [_tool_decl(n) for n in dict.fromkeys(tools)]
    return rec


prompt_completion = st.builds(lambda p, c: {"prompt": p, "completion": c}, nonempty_text(), nonempty_text())

alpaca = st.builds(lambda i, x, o: {"instruction": i, "input": x, "output": o},
                   nonempty_text(), text() | st.just(""), nonempty_text())


@st.composite
def sharegpt(draw) -> dict:
    conv: list[dict] = []
    if draw(st.booleans()):
        conv.append({"from": "system", "value": draw(text())})
    for _ in range(draw(st.integers(1, 3))):
        conv.append({"from": "human", "value": draw(nonempty_text())})
        conv.append({"from": "gpt", "value": draw(nonempty_text())})
    return {"conversations": conv}


@st.composite
def dpo(draw) -> dict:
    """OpenAI preference fine-tuning (``input``/``preferred_output``/``non_preferred_output``)."""
    good, bad = draw(nonempty_text()), draw(nonempty_text())
    if good == bad:
        bad += " (worse)"
    return {"input": {"messages": [{"role": "user", "content": draw(nonempty_text())}]},
            "preferred_output": [{"role": "assistant", "content": good}],
            "non_preferred_output": [{"role": "assistant", "content": bad}]}


@st.composite
def preference(draw) -> dict:
    """TRL prompt/chosen/rejected, standard (strings) or conversational (message lists)."""
    good, bad = draw(nonempty_text()), draw(nonempty_text())
    if good == bad:
        bad += " (worse)"
    if draw(st.booleans()):
        return {"prompt": draw(nonempty_text()), "chosen": good, "rejected": bad}
    return {"prompt": [{"role": "user", "content": draw(nonempty_text())}],
            "chosen": [{"role": "assistant", "content": good}],
            "rejected": [{"role": "assistant", "content": bad}]}


def _msgs(draw, turns: int, user: str = "user", model: str = "assistant") -> list[tuple[str, str]]:
    out = []
    for _ in range(turns):
        out.append((user, draw(nonempty_text())))
        out.append((model, draw(nonempty_text())))
    return out


@st.composite
def trl_prompt(draw) -> Any:
    """TRL's prompt: a string, or a message list ending with the user's turn."""
    if draw(st.booleans()):
        return draw(nonempty_text())
    return [{"role": "user", "content": draw(nonempty_text())}]


prompt_only = st.builds(lambda p: {"prompt": p}, trl_prompt())
kto = st.builds(lambda p, c, lab: {"prompt": p, "completion": c, "label": lab}, nonempty_text(), nonempty_text(), st.booleans())
stepwise = st.builds(lambda p, steps, data: {"prompt": p, "completions": steps, "labels": [data.draw(st.booleans()) for _ in steps]},
                     nonempty_text(), st.lists(nonempty_text(), min_size=1, max_size=3), st.data())
lm_text = st.builds(lambda t: {"text": t}, nonempty_text())


@st.composite
def gemini(draw) -> dict:
    """Gemini/Vertex tuning: contents of user/model parts, optional systemInstruction."""
    rec: dict[str, Any] = {}
    if draw(st.booleans()):
        rec["systemInstruction"] = {"role": "system", "parts": [{"text": draw(nonempty_text())}]}
    rec["contents"] = [{"role": r, "parts": [{"text": t}]} for r, t in _msgs(draw, draw(st.integers(1, 3)), "user", "model")]
    return rec


@st.composite
def bedrock(draw) -> dict:
    rec: dict[str, Any] = {"schemaVersion": "bedrock-conversation-2024"}
    if draw(st.booleans()):
        rec["system"] = [{"text": draw(nonempty_text())}]
    rec["messages"] = [{"role": r, "content": [{"text": t}]} for r, t in _msgs(draw, draw(st.integers(1, 3)))]
    return rec


@st.composite
def claude(draw) -> dict:
    return {"system": draw(nonempty_text()),
            "messages": [{"role": r, "content": t} for r, t in _msgs(draw, draw(st.integers(1, 3)))]}


@st.composite
def rft(draw) -> dict:
    msgs = [{"role": r, "content": t} for r, t in _msgs(draw, draw(st.integers(0, 2)))]
    msgs.append({"role": "user", "content": draw(nonempty_text())})
    return {"messages": msgs, "reference_answer": draw(nonempty_text())}


#: format name -> strategy of one valid parsed record. Add entries to extend every suite.
FORMATS: dict[str, st.SearchStrategy[dict]] = {
    "chat": chat(),
    "prompt-completion": prompt_completion,
    "alpaca": alpaca,
    "sharegpt": sharegpt(),
    "dpo": dpo(),
    "preference": preference(),
    "prompt-only": prompt_only,
    "kto": kto,
    "stepwise": stepwise,
    "text": lm_text,
    "gemini": gemini(),
    "bedrock": bedrock(),
    "claude": claude(),
    "rft": rft(),
}


def records(fmt: str | None = None) -> st.SearchStrategy[dict]:
    """One valid record of ``fmt`` (any format when None; looked up at draw time so entries
    added to FORMATS later count)."""
    if fmt is not None:
        return st.deferred(lambda: FORMATS[fmt])
    return st.deferred(lambda: st.one_of(*FORMATS.values()))


def format_names() -> st.SearchStrategy[str]:
    return st.deferred(lambda: st.sampled_from(sorted(FORMATS)))


# ---------------------------------------------------------------------------- mutations
_TYPO = {"messages": ["message", "Messages", "msgs"], "role": ["Role", "rol"], "content": ["contnet", "text"],
         "prompt": ["promt"], "completion": ["completions"], "instruction": ["instructions", "Instruction"],
         "output": ["outputs"], "conversations": ["conversation", "convs"], "from": ["form"], "value": ["val"],
         "chosen": ["choosen"], "rejected": ["reject"], "input": ["inputs"], "tool_calls": ["toolcalls"]}

_WRONG = st.sampled_from([None, 0, -1, 1.5, True, False, "", "x", [], {}, [None], {"a": None}])
_HUGE = st.sampled_from([10 ** 30, -(10 ** 30), 2 ** 63, 2 ** 64, -(2 ** 63) - 1, 1e308, -1e308, 1e-320])
_CTRL = st.sampled_from(["\x00", "\x01", "\x07", "\x1b[31m", "\x7f", "\u0085", "\u2028", "\u2029", "\ufeff",
                         "\u202e", "\r", "\x0b", "\x0c"])


def _paths(obj: Any, here: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys/indices) inside ``obj``, the root included."""
    out = [here]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, here + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, here + (i,))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for k in path:
        obj = obj[k]
    return obj


def _copy(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def _nest(depth: int, leaf: Any = 1) -> Any:
    v = leaf
    for i in range(depth):
        v = [v] if i % 2 else {"a": v}
    return v


@st.composite
def mutate_obj(draw, obj: Any) -> Any:
    """One structural mutation of a parsed record (never in place)."""
    obj = _copy(obj)
    paths = _paths(obj)
    path = draw(st.sampled_from(paths))
    parent_path, key = (path[:-1], path[-1]) if path else ((), None)
    kind = draw(st.sampled_from(["drop-key", "rename-key", "wrong-type", "null", "huge", "ctrl", "nest",
                                 "mix", "extra-key", "not-object", "empty"]))
    if key is None and kind in ("drop-key", "rename-key", "wrong-type", "null", "huge", "ctrl", "nest"):
        kind = "not-object"
    parent = _get(obj, parent_path) if key is not None else None
    if kind == "drop-key":
        del parent[key]
    elif kind == "rename-key":
        if isinstance(parent, dict):
            choices = _TYPO.get(key, []) + [key.upper(), key + "_", " " + key]
            new = draw(st.sampled_from(choices))
            parent[new] = parent.pop(key)
        else:
            parent[key] = None
    elif kind == "wrong-type":
        parent[key] = draw(_WRONG)
    elif kind == "null":
        parent[key] = None
    elif kind == "huge":
        parent[key] = draw(_HUGE)
    elif kind == "ctrl":
        cur = parent[key]
        c = draw(_CTRL)
        parent[key] = (cur + c + cur) if isinstance(cur, str) else c
    elif kind == "nest":
        parent[key] = _nest(draw(st.integers(10, 400)), parent[key])
    elif kind == "mix":
        other = draw(records())
        if isinstance(obj, dict) and isinstance(other, dict):
            for k, v in other.items():
                if draw(st.booleans()):
                    obj[k] = v
        else:
            obj = other
    elif kind == "extra-key":
        if isinstance(obj, dict):
            obj[draw(_ident)] = draw(_WRONG | text())
    elif kind == "not-object":
        obj = draw(st.sampled_from([[], [obj], "text", 1, None, True, 1.5]))
    elif kind == "empty":
        obj = {}
    return obj


@st.composite
def mutate_line(draw, line: bytes) -> bytes:
    """One byte-level mutation of a serialized record (no newline inside unless it is meant)."""
    kind = draw(st.sampled_from(["truncate", "bad-utf8", "ctrl-byte", "surrogate", "cr", "bom", "garbage",
                                 "trailing"]))
    if kind == "truncate" and len(line) > 1:
        return line[:draw(st.integers(1, len(line) - 1))]
    pos = draw(st.integers(0, len(line)))
    if kind == "bad-utf8":
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80"]))
        return line[:pos] + junk + line[pos:]
    if kind == "ctrl-byte":
        return line[:pos] + draw(st.sampled_from([b"\x00", b"\x01", b"\x1b", b"\x7f", b"\x0b", b"\x0c"])) + line[pos:]
    if kind == "surrogate":
        q = line.find(b'"', 1)
        return line if q < 0 else line[:q + 1] + b"\\ud800" + line[q + 1:]
    if kind == "cr":
        return line[:pos] + b"\r" + line[pos:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + line
    if kind == "garbage":
        return line[:pos] + draw(st.binary(min_size=1, max_size=6).filter(lambda b: b"\n" not in b)) + line[pos:]
    return line + draw(st.sampled_from([b" ", b"\t", b",", b"}", b" // comment"]))


def dumps(obj: Any) -> bytes:
    """One compact JSON line (UTF-8, non-ASCII kept; very deep values fall back to a manual writer)."""
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8", "surrogatepass")
    except RecursionError:
        return _deep_dumps(obj).encode("utf-8", "surrogatepass")


def _deep_dumps(obj: Any) -> str:
    parts: list[str] = []
    stack: list[Any] = [obj]
    while stack:
        v = stack.pop()
        if isinstance(v, str) and v.startswith("\x00__raw__"):
            parts.append(v[8:])
        elif isinstance(v, dict):
            parts.append("{")
            items = list(v.items())
            stack.append("\x00__raw__}")
            for i, (k, x) in reversed(list(enumerate(items))):
                stack.append(x)
                stack.append("\x00__raw__" + ("," if i else "") + json.dumps(k) + ":")
        elif isinstance(v, list):
            parts.append("[")
            stack.append("\x00__raw__]")
            for i, x in reversed(list(enumerate(v))):
                stack.append(x)
                if i:
                    stack.append("\x00__raw__,")
        else:
            parts.append(json.dumps(v, ensure_ascii=False))
    return "".join(parts)


@st.composite
def record_lines(draw, fmt: str | None = None, mutate: float = 0.3) -> bytes:
    """One serialized record; with probability ~``mutate`` it is mutated (object and/or bytes)."""
    obj = draw(records(fmt))
    if draw(st.floats(0, 1)) < mutate:
        obj = draw(mutate_obj(obj))
    line = dumps(obj)
    if draw(st.floats(0, 1)) < mutate / 2:
        line = draw(mutate_line(line))
    return line


@st.composite
def datasets(draw, fmt: str | None = None, min_size: int = 1, max_size: int = 12, mutate: float = 0.3,
             blank_lines: bool = True) -> list[bytes]:
    """A list of serialized records, mostly of one format (a real file has one), some mutated,
    maybe a few blank lines and records of another format mixed in."""
    fmt = fmt or draw(format_names())
    lines = []
    for _ in range(draw(st.integers(min_size, max_size))):
        other = draw(st.integers(0, 9)) == 0
        lines.append(draw(record_lines(None if other else fmt, mutate)))
        if blank_lines and draw(st.integers(0, 15)) == 0:
            lines.append(draw(st.sampled_from([b"", b"   ", b"\t"])))
    return lines


# ---------------------------------------------------------------------------- containers
def write_jsonl(path: Path, lines: list[bytes], newline: bytes = b"\n", final_newline: bool = True) -> Path:
    data = newline.join(lines) + (newline if final_newline and lines else b"")
    path.write_bytes(data)
    return path


def write_crlf(path: Path, lines: list[bytes]) -> Path:
    return write_jsonl(path, lines, b"\r\n")


def write_gzip(path: Path, lines: list[bytes]) -> Path:
    if not path.name.endswith(".gz"):
        path = path.with_name(path.name + ".gz")
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
    return path


def write_array(path: Path, lines: list[bytes]) -> Path:
    """A JSON array file, one element per line (elements that are not JSON stay as raw bytes,
    which makes the whole array invalid: a parse error the reader must report, not crash on)."""
    if path.suffix != ".json":
        path = path.with_suffix(".json")
    body = b",\n".join(b"  " + ln for ln in lines if ln.strip())
    path.write_bytes(b"[\n" + body + b"\n]\n")
    return path


def write_array_oneline(path: Path, lines: list[bytes]) -> Path:
    """A JSON array on one line, as ``json.dump(records, f)`` writes it."""
    if path.suffix != ".json":
        path = path.with_suffix(".json")
    path.write_bytes(b"[" + b", ".join(ln for ln in lines if ln.strip()) + b"]")
    return path


def write_array_pretty(path: Path, lines: list[bytes]) -> Path:
    """A pretty-printed JSON array (``json.dump(records, f, indent=2)``); elements that are not
    JSON stay raw."""
    if path.suffix != ".json":
        path = path.with_suffix(".json")
    parts = []
    for ln in lines:
        if not ln.strip():
            continue
        try:
            parts.append(json.dumps(json.loads(ln.decode("utf-8")), indent=2, ensure_ascii=False).encode())
        except (UnicodeDecodeError, ValueError, RecursionError):
            parts.append(ln)
    body = b",\n".join(b"\n".join(b"  " + x for x in p.split(b"\n")) for p in parts)
    path.write_bytes(b"[\n" + body + b"\n]\n")
    return path


#: container name -> (file suffix, writer(path, lines) -> actual path written)
CONTAINERS: dict[str, tuple[str, Callable[[Path, list[bytes]], Path]]] = {
    "jsonl": (".jsonl", write_jsonl),
    "jsonl-crlf": (".jsonl", write_crlf),
    "jsonl.gz": (".jsonl.gz", write_gzip),
    "json-array": (".json", write_array),
    "json-array-oneline": (".json", write_array_oneline),
    "json-array-pretty": (".json", write_array_pretty),
}


def container_names() -> st.SearchStrategy[str]:
    return st.deferred(lambda: st.sampled_from(sorted(CONTAINERS)))


def write(container: str, directory: Path, lines: list[bytes], stem: str = "data") -> Path:
    suffix, writer = CONTAINERS[container]
    return writer(Path(directory) / (stem + suffix), lines)


@st.composite
def dataset_files(draw, fmt: str | None = None, containers: list[str] | None = None, mutate: float = 0.3,
                  max_size: int = 12) -> tuple[str, list[bytes]]:
    """(container name, lines): write with ``write(container, tmpdir, lines)``. Kept as data so
    hypothesis can shrink it and a test can use its own temporary directory per example."""
    container = draw(st.sampled_from(containers) if containers else container_names())
    lines = draw(datasets(fmt, mutate=mutate, max_size=max_size, blank_lines=not container.startswith("json-array")))
    return container, lines


def valid_json_lines(lines: list[bytes]) -> list[bytes]:
    """The lines of ``lines`` that parse as JSON (what a container's record count is built from)."""
    out = []
    for ln in lines:
        if not ln.strip():
            continue
        try:
            json.loads(ln.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
        out.append(ln)
    return out


# ---------------------------------------------------------------------------- tables
# Parquet/Arrow/CSV hold rows, not lines: the writers take the lines' JSON objects. Rows a table
# cannot hold (not an object, not JSON, columns whose types disagree between rows) make the
# writer return None: a test then assume()s it away. Not in CONTAINERS, whose suites count lines.
def _objects(lines: list[bytes]) -> list[dict] | None:
    objs = [json.loads(ln.decode("utf-8")) for ln in valid_json_lines(lines)]
    return objs if objs and all(isinstance(o, dict) and o for o in objs) else None


def write_parquet(path: Path, lines: list[bytes]) -> Path | None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    objs = _objects(lines)
    if objs is None:
        return None
    try:
        pq.write_table(pa.Table.from_pylist(objs), path.with_suffix(".parquet"), row_group_size=4)  # several row groups
    except (pa.ArrowException, OverflowError, ValueError, TypeError):
        return None
    return path.with_suffix(".parquet")


def write_arrow(path: Path, lines: list[bytes]) -> Path | None:
    import pyarrow as pa

    objs = _objects(lines)
    if objs is None:
        return None
    out = path.with_suffix(".arrow")
    try:
        table = pa.Table.from_pylist(objs)
        with pa.OSFile(str(out), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
            w.write_table(table, max_chunksize=3)
    except (pa.ArrowException, OverflowError, ValueError, TypeError):
        return None
    return out


def write_csv(path: Path, lines: list[bytes]) -> Path | None:
    """Flat records only (every value a string): the header is the first record's keys."""
    import csv

    objs = _objects(lines)
    if objs is None or not all(isinstance(v, str) for o in objs for v in o.values()):
        return None
    header = list(objs[0])
    if any(list(o) != header for o in objs) or any("\x00" in v or "\r" in v for o in objs for v in o.values()):
        return None
    out = path.with_suffix(".csv")
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for o in objs:
            w.writerow([o[h] for h in header])
    return out


#: table container -> writer(path, lines) -> path written, or None when the rows do not fit
TABLES: dict[str, Callable[[Path, list[bytes]], "Path | None"]] = {
    "parquet": write_parquet,
    "arrow": write_arrow,
    "csv": write_csv,
}
