"""Exact token counts with tiktoken, fully offline.

API for the other modules (everything is lazy: importing this module imports neither tiktoken
nor any BPE table)::

    get_encoding(name) -> tiktoken.Encoding     # "o200k_base" | "cl100k_base", cached per process
    count_text(text, encoding_name) -> int      # plain text, special-token strings count as text
    count_record(rec, target) -> int            # whole example, chat overhead included
    turn_tokens(rec, target) -> list[(Turn, int)]  # each text turn's own tokens, no overhead
    upper_bound(rec, target) -> int             # cheap bound: count_record(rec) <= upper_bound(rec)
    exceeds(rec, target, limit) -> int | None   # exact count if it is over ``limit``, else None;
                                                # encodes only records whose bound is over the limit

Loading. The BPE tables ship gzipped in ``tunelint/data/``. They are decompressed into a private
temporary file and read with tiktoken's own loader, ``tiktoken.load.load_tiktoken_bpe(path,
expected_hash=...)``, with tiktoken's download cache pointed at a private empty directory (deleted
afterwards), so tiktoken's sha256 check runs on the exact bytes we ship against OpenAI's official
``expected_hash`` (the constants below, which must also equal the ones in the installed
``tiktoken_ext.openai_public``); we check the sha256 ourselves first too. The encoding's regex
and special tokens come from ``tiktoken_ext.openai_public`` itself: its constructor is called with
its loader pointed at our file, so the Encoding is built with exactly the parameters tiktoken
would use after a download. No network is ever touched; a mismatch is a :class:`TokenizerError`.

How an example is counted (``count_record``):

- chat (OpenAI ``messages``): the OpenAI cookbook's ``num_tokens_from_messages``: for every
  message ``target.per_message`` (3) tokens, plus the tokens of every string value of the
  message (role, content, name, tool_call_id, refusal), plus ``target.per_name`` (1) when it
  has a ``name``; ``target.reply_priming`` (3) once per example. Content given as a list of
  parts counts its text parts. Assistant ``tool_calls``/``function_call`` count the tokens of
  each function name and arguments string (approximate: OpenAI does not document the exact
  rendering). Tool definitions (``tools``/``functions``) use the cookbook's
  ``num_tokens_for_tools`` (approximate): per function 7 tokens (10 for cl100k models) +
  tokens of ``"name:description"``; when it has properties 3 + per property 3 + tokens of
  ``"key:type:description"`` (enum: -3 + per item 3 + the item's tokens); 12 once at the end.
- legacy prompt/completion: tokens(prompt) + tokens(completion), no overhead (completions API).
- Alpaca, ShareGPT and other chat-like formats: counted as the chat they become, each turn one
  message with the target's overheads (an Alpaca ``input`` joins the instruction's message, so
  it gets no overhead of its own). Approximate for non-OpenAI models, by nature.
- preference pairs (DPO, chosen/rejected): the shared part plus the longer of the two answer
  branches: the per-example limit applies to each sequence the trainer builds.

Why skipping is exact. Every BPE token of these encodings is at least one byte, and ordinary
text never produces a special token, so ``count_text(s) <= len(s.encode())``. ``upper_bound``
replaces each string's tokens by its UTF-8 length (keeping every overhead constant, and dropping
the negative enum adjustment), so a record whose bound is within the limit cannot be over it and
is never encoded; when no record needs encoding the BPE table is never loaded.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .bpe import (  # noqa: F401 - re-exported
    CHUNK, FIXED_CUT, SAFE_CUT, TokenizerError, encode_linear, load_ranks, piece_cuts,
)

if TYPE_CHECKING:  # pragma: no cover
    import tiktoken

    from .formats import Record, Turn
    from .rules import Target

#: sha256 of the decompressed files, as in tiktoken_ext.openai_public (official expected_hash)
EXPECTED_HASH = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
ENCODINGS = tuple(EXPECTED_HASH)

#: cookbook num_tokens_for_tools constants per encoding (gpt-4o family / gpt-3.5-turbo and gpt-4)
TOOL_CONSTANTS = {
    "o200k_base": {"func_init": 7, "prop_init": 3, "prop_key": 3, "enum_init": -3, "enum_item": 3, "func_end": 12},
    "cl100k_base": {"func_init": 10, "prop_init": 3, "prop_key": 3, "enum_init": -3, "enum_item": 3, "func_end": 12},
}


_cache: dict[str, Any] = {}
_lock = threading.Lock()


def data_path(name: str) -> str:
    return str(Path(__file__).resolve().parent / "data" / f"{name}.tiktoken.gz")


def _build(name: str) -> "tiktoken.Encoding":
    import tiktoken
    import tiktoken_ext.openai_public as op

    if name not in EXPECTED_HASH:
        raise TokenizerError(f"unknown encoding {name!r}; tunelint ships {', '.join(ENCODINGS)}")
    ctor: Callable[[], dict] = getattr(op, name)

    def local_loader(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        if expected_hash != EXPECTED_HASH[name]:
            raise TokenizerError(f"tiktoken expects {name} with sha256 {expected_hash}, tunelint ships "
                                 f"{EXPECTED_HASH[name]}; install a tiktoken version matching tunelint")
        return load_ranks(data_path(name), EXPECTED_HASH[name])

    saved = op.load_tiktoken_bpe
    op.load_tiktoken_bpe = local_loader  # the constructor's only network access, pointed at our file
    try:
        params = ctor()
    finally:
        op.load_tiktoken_bpe = saved
    return tiktoken.Encoding(**params)


def get_encoding(name: str) -> "tiktoken.Encoding":
    """The named encoding, built once per process from the shipped table."""
    enc = _cache.get(name)
    if enc is None:
        with _lock:
            enc = _cache.get(name)
            if enc is None:
                enc = _cache[name] = _build(name)
    return enc


def is_loaded(name: str | None = None) -> bool:
    """Whether an encoding (any, if ``name`` is None) has been built in this process."""
    return bool(_cache) if name is None else name in _cache


def count_text(text: str, encoding_name: str) -> int:
    """Tokens of ``text``. Special-token strings such as ``<|endoftext|>`` count as ordinary text."""
    if not text:
        return 0
    return len(encode_linear(get_encoding(encoding_name).encode_ordinary, text))


def _utf8_len(text: str, encoding_name: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


# -- what an example is made of ------------------------------------------------------------------
# A record is described as (constant overhead, shared strings, branches) where a branch is a list
# of strings; the count is overhead + f(shared) + max over branches f(branch). Counting with
# f = tokens gives count_record; f = UTF-8 bytes gives upper_bound. Negative constants (the enum
# adjustment) are only applied when counting exactly.


class _Parts:
    __slots__ = ("overhead", "negative", "shared", "branches", "branch_overhead")

    def __init__(self) -> None:
        self.overhead = 0
        self.negative = 0
        self.shared: list[str] = []
        self.branches: dict[str, list[str]] = {}
        self.branch_overhead: dict[str, int] = {}

    def strings(self, branch: str) -> list[str]:
        return self.branches.setdefault(branch, []) if branch else self.shared

    def add(self, branch: str, n: int) -> None:
        if branch:
            self.branch_overhead[branch] = self.branch_overhead.get(branch, 0) + n
        else:
            self.overhead += n


def _tools_parts(p: _Parts, tools: Any, enc_name: str) -> None:
    if isinstance(tools, str):  # ShareGPT/LLaMA-Factory keep tools as a JSON string
        import orjson

        try:
            tools = orjson.loads(tools) if tools.strip() else []
        except orjson.JSONDecodeError:
            p.shared.append(tools)
            return
    if not isinstance(tools, list) or not tools:
        return
    c = TOOL_CONSTANTS.get(enc_name, TOOL_CONSTANTS["o200k_base"])
    for t in tools:
        if not isinstance(t, dict):
            continue
        fn = t.get("function") if isinstance(t.get("function"), dict) else t
        p.overhead += c["func_init"]
        name = fn.get("name") if isinstance(fn.get("name"), str) else ""
        desc = fn.get("description") if isinstance(fn.get("description"), str) else ""
        if desc.endswith("."):
            desc = desc[:-1]
        p.shared.append(f"{name}:{desc}")
        params = fn.get("parameters")
        props = params.get("properties") if isinstance(params, dict) else None
        if isinstance(props, dict) and props:
            p.overhead += c["prop_init"]
            for key, spec in props.items():
                p.overhead += c["prop_key"]
                spec = spec if isinstance(spec, dict) else {}
                enum = spec.get("enum")
                if isinstance(enum, list):
                    p.negative += c["enum_init"]
                    for item in enum:
                        p.overhead += c["enum_item"]
                        p.shared.append(item if isinstance(item, str) else str(item))
                ptype = spec.get("type")
                ptype = ptype if isinstance(ptype, str) else ("" if ptype is None else str(ptype))
                pdesc = spec.get("description") if isinstance(spec.get("description"), str) else ""
                if pdesc.endswith("."):
                    pdesc = pdesc[:-1]
                p.shared.append(f"{key}:{ptype}:{pdesc}")
    p.overhead += c["func_end"]


def _call_strings(out: list[str], fn: Any) -> None:
    if isinstance(fn, dict):
        for k in ("name", "arguments"):
            v = fn.get(k)
            if isinstance(v, str):
                out.append(v)
            elif v is not None:
                from .formats import dumps_sorted

                out.append(dumps_sorted(v, sort=False).decode())


def _chat_parts(p: _Parts, msgs: Any, branch: str, target: "Target") -> None:
    if not isinstance(msgs, list):
        return
    out = p.strings(branch)
    for m in msgs:
        if not isinstance(m, dict):
            continue
        p.add(branch, target.per_message)
        for k, v in m.items():
            if isinstance(v, str):
                out.append(v)
                if k == "name":
                    p.add(branch, target.per_name)
            elif k == "content" and isinstance(v, list):
                for part in v:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        out.append(part["text"])
            elif k == "tool_calls" and isinstance(v, list):
                for call in v:
                    if isinstance(call, dict):
                        _call_strings(out, call.get("function"))
            elif k == "function_call":
                _call_strings(out, v)


def _turn_parts(p: _Parts, rec: "Record", target: "Target") -> None:
    """Generic formats: each turn is a message (role + text + overhead); an input joins its prompt."""
    for t in rec.turns:
        if t.text is None:
            continue
        out = p.strings(t.branch)
        if t.kind != "input":
            p.add(t.branch, target.per_message)
            out.append(t.role)
        out.append(t.text)


def _parts(rec: "Record", target: "Target", enc_name: str) -> _Parts:
    p = _Parts()
    obj = rec.obj
    fmt = rec.format
    if not isinstance(obj, dict):
        return p
    if fmt == "prompt-completion":
        for k in ("prompt", "completion"):
            if isinstance(obj.get(k), str):
                p.shared.append(obj[k])
        return p
    p.overhead += target.reply_priming
    if fmt == "chat":
        _chat_parts(p, obj.get("messages"), "", target)
        _tools_parts(p, obj.get("tools"), enc_name)
        _tools_parts(p, obj.get("functions"), enc_name)
    elif fmt == "dpo":
        inp = obj.get("input")
        if isinstance(inp, dict):
            _chat_parts(p, inp.get("messages"), "", target)
            _tools_parts(p, inp.get("tools"), enc_name)
            _tools_parts(p, inp.get("functions"), enc_name)
        _chat_parts(p, obj.get("preferred_output"), "chosen", target)
        _chat_parts(p, obj.get("non_preferred_output"), "rejected", target)
    else:
        _turn_parts(p, rec, target)
        if fmt in ("sharegpt", "preference") and "tools" in obj:
            _tools_parts(p, obj.get("tools"), enc_name)
    return p


def _total(p: _Parts, f: Callable[[str, str], int], enc_name: str, exact: bool) -> int:
    n = p.overhead + (p.negative if exact else 0)
    n += sum(f(s, enc_name) for s in p.shared)
    if p.branches:
        bo = p.branch_overhead
        n += max(bo.get(k, 0) + sum(f(s, enc_name) for s in b) for k, b in p.branches.items())
    return n


def counted_with(target: "Target") -> str:
    """How tokens are counted, for headers: the model's tokenizer and template, or the encoding."""
    tok = getattr(target, "tokenizer", None)
    if tok:
        ct = getattr(target, "chat_template", None)
        return f"{tok} with " + (f"the chat template {ct}" if ct else "its chat template")
    return target.encoding


def chat_model(target: "Target"):
    """The target's own tokenizer and chat template (:mod:`tunelint.chat`), or None when it
    counts with a tiktoken encoding."""
    spec = getattr(target, "tokenizer", None)
    if not spec:
        return None
    from . import chat

    return chat.load(spec, getattr(target, "chat_template", None))


def count_record(rec: "Record", target: "Target", count: Callable[[str, str], int] | None = None) -> int:
    """Tokens of the whole example under ``target`` (see the module docstring for the formula;
    with a model tokenizer, the rendered chat template's tokens: :func:`tunelint.chat.count_record`).
    ``count(text, encoding_name)``: the tiktoken counter to use (default :func:`count_text`; a
    caller may pass a memoized one)."""
    model = chat_model(target)
    if model is not None:
        from . import chat

        return chat.count_record(rec, model)
    enc = target.encoding
    return _total(_parts(rec, target, enc), count or count_text, enc, True)


def record_parts(rec: "Record", target: "Target", enc_name: str) -> _Parts:
    """What a record's count is made of: ``overhead + negative`` fixed tokens, the ``shared``
    strings and each preference branch's strings (``branches``); :func:`count_record` adds
    them up (the report counts them in a worker process)."""
    return _parts(rec, target, enc_name)


def upper_bound(rec: "Record", target: "Target") -> int:
    """A cheap bound (UTF-8 bytes instead of tokens) with ``count_record(rec) <= upper_bound(rec)``."""
    enc = target.encoding
    return _total(_parts(rec, target, enc), _utf8_len, enc, False)


def exceeds(rec: "Record", target: "Target", limit: int) -> int | None:
    """The exact token count if the example has more than ``limit`` tokens, else None.

    Records whose byte bound is within the limit are not encoded (and the BPE is not loaded)."""
    model = chat_model(target)
    if model is not None:
        from . import chat

        return chat.exceeds(rec, model, limit)
    enc = target.encoding
    p = _parts(rec, target, enc)
    if _total(p, _utf8_len, enc, False) <= limit:
        return None
    n = _total(p, count_text, enc, True)
    return n if n > limit else None


def turn_tokens(rec: "Record", target: "Target") -> list[tuple["Turn", int]]:
    """Each text turn of the record with its own token count (no chat overhead)."""
    model = chat_model(target)
    if model is not None:
        return [(t, model.count_text(t.text)) for t in rec.turns if t.text is not None]
    enc = target.encoding
    return [(t, count_text(t.text, enc)) for t in rec.turns if t.text is not None]
