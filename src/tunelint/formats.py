"""Format detection and normalization into one record view.

Every supported format is turned into a :class:`Record` holding :class:`Turn` objects (role,
text, JSON pointer to the text) plus the raw parsed object. Structural problems found while
normalizing are collected as :class:`Problem` objects; the F rules in ``rules/format.yaml``
select them by ``problem`` id (one normalizer pass serves every F rule).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from functools import lru_cache

from .diagnostic import pointer as _pointer
from .model.record import (  # noqa: F401 - re-exported: the record model moved to model/record.py
    PROBLEMS, Problem, Record, Turn, dumps_sorted,
)
from .words import article


@lru_cache(maxsize=4096)
def P(*tokens) -> str:
    return _pointer(*tokens)

FORMAT_ALIASES = {
    "openai": "chat", "messages": "chat", "completion": "prompt-completion",
    "legacy": "prompt-completion", "pc": "prompt-completion", "trl": "preference",
    "openai-dpo": "dpo", "vertex": "gemini", "nova": "bedrock", "bedrock-conversation": "bedrock",
    "bedrock-claude": "claude", "anthropic": "claude", "openai-rft": "rft", "reinforcement": "rft",
    "unpaired-preference": "kto", "stepwise-supervision": "stepwise", "language-modeling": "text",
    "lm": "text", "grpo": "prompt-only",
}

SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "system": "system",
                  "function_call": "tool_call", "observation": "tool",
                  # OpenAI-style role names inside ShareGPT are common too
                  "user": "user", "assistant": "assistant", "tool": "tool"}

#: keys each format requires: a null one is reported as null; every other null key is absent
REQUIRED = {
    "chat": ("messages",), "prompt-completion": ("prompt", "completion"), "alpaca": ("instruction", "output"),
    "sharegpt": ("conversations",), "dpo": ("input", "preferred_output", "non_preferred_output"),
    "preference": ("chosen", "rejected"),
}

@dataclass(frozen=True, slots=True)
class Dialect:
    """How one vendor writes a message list: its roles, message keys and content blocks."""

    name: str
    role_list: tuple[str, ...]
    keys: frozenset[str]
    media_types: frozenset[str] = frozenset()  # content parts {"type": T, ...} that carry no text
    media_keys: frozenset[str] = frozenset()  # content blocks {KEY: {...}} that carry no text
    media_hint: str = "an image_url part"
    string_content: bool = True  # content may be a plain string
    legacy_roles: tuple[str, ...] = ()  # accepted, not suggested

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.role_list + self.legacy_roles)


OPENAI = Dialect("OpenAI chat", ("system", "developer", "user", "assistant", "tool"),
                 frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call", "refusal"}),
                 frozenset({"image_url", "input_audio", "file", "image", "video", "audio"}), legacy_roles=("function",))
BEDROCK = Dialect("Bedrock conversation", ("user", "assistant"), frozenset({"role", "content"}),
                  media_keys=frozenset({"image", "video", "document", "toolUse", "toolResult", "reasoningContent"}),
                  media_hint="an image, video, document, toolUse or toolResult block", string_content=False)
CLAUDE = Dialect("Claude messages", ("user", "assistant"), frozenset({"role", "content"}),
                 frozenset({"image", "document", "tool_use", "tool_result"}), media_hint="an image, tool_use or tool_result block")

KIND_OF_ROLE = {
    "system": "system", "developer": "system", "user": "prompt", "assistant": "answer",
    "tool": "tool", "function": "tool", "tool_call": "tool",
}


# Role names that mean one chat role (other trainers' and chat templates' names for it).
ROLE_ALIASES = {"bot": "assistant", "gpt": "assistant", "ai": "assistant", "model": "assistant",
                "chatbot": "assistant", "chatgpt": "assistant", "human": "user", "person": "user",
                "usr": "user", "sys": "system"}


@dataclass(frozen=True, slots=True)
class Spec:
    """One record shape: how it is recognized, which keys it has and how each is read.

    ``signature`` keys must all be present (non-null) and ``any_of`` at least one of them;
    ``test`` (a method name of :class:`Normalizer`'s module-level predicates) refines it.
    ``fields`` are (key, field type) pairs read in order by :meth:`Normalizer._fields`;
    ``optional`` None means any other key is allowed (RFT's grader fields).
    ``within``: a record of this shape in a file of that format is read as that format
    (a prompt-only record in a prompt/completion file is missing its completion)."""

    name: str
    label: str
    required: tuple[str, ...]
    optional: tuple[str, ...] | None = ()
    signature: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    test: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    method: str = "_fields"
    within: str = ""
    after: str = ""  # a record-level check run after the fields (a method name)

    @property
    def allowed(self) -> frozenset[str] | None:
        return None if self.optional is None else frozenset(self.required + self.optional)


MEDIA = ("images", "videos", "audios")  # vision/audio columns (TRL, LLaMA-Factory)

#: Every record shape, in detection order (the first whose signature fits wins).
SPECS: tuple[Spec, ...] = (
    Spec("dpo", "OpenAI DPO", ("input", "preferred_output", "non_preferred_output"),
         any_of=("preferred_output", "non_preferred_output"), method="_dpo"),
    Spec("preference", "preference pair (TRL, LLaMA-Factory)", ("chosen", "rejected"),
         ("prompt", "instruction", "input", "system", "history", "conversations", "messages", "tools", "id",
          "score_chosen", "score_rejected") + MEDIA, signature=("chosen", "rejected"), method="_preference"),
    Spec("bedrock", "Bedrock conversation (Nova)", ("schemaVersion", "messages"), ("system",),
         signature=("schemaVersion",), fields=(("schemaVersion", "schema-version"), ("system", "system-parts"),
                                               ("messages", "bedrock-messages"))),
    Spec("claude", "Claude on Bedrock", ("messages",), ("system",), signature=("messages", "system"),
         test="system_is_text", fields=(("system", "system-text"), ("messages", "claude-messages")), within="chat"),
    Spec("rft", "OpenAI reinforcement fine-tuning", ("messages",), None, signature=("messages",), test="rft_like",
         fields=(("messages", "rft-messages"), ("tools", "tools"), ("reference_answer", "reference")), within="chat"),
    Spec("chat", "OpenAI chat", ("messages",), ("tools", "functions", "parallel_tool_calls", "metadata", "label", "images"),
         signature=("messages",), method="_chat"),
    Spec("gemini", "Gemini/Vertex tuning", ("contents",), ("systemInstruction", "system_instruction", "tools", "toolConfig",
                                                           "tool_config"),
         signature=("contents",), fields=(("systemInstruction", "gemini-system"), ("system_instruction", "gemini-system"),
                                          ("tools", "gemini-tools"), ("contents", "gemini-contents"))),
    Spec("sharegpt", "ShareGPT", ("conversations",), ("system", "tools", "id", "label", "kto_tag") + MEDIA,
         signature=("conversations",), method="_sharegpt"),
    Spec("alpaca", "Alpaca", ("instruction", "output"), ("input", "system", "history") + MEDIA,
         test="alpaca_like", method="_alpaca"),
    Spec("stepwise", "TRL stepwise supervision", ("prompt", "completions", "labels"), MEDIA,
         signature=("completions", "labels"),
         fields=(("prompt", "prompt"), ("completions", "steps"), ("labels", "step-labels")), after="_stepwise_lengths"),
    Spec("kto", "TRL unpaired preference (KTO)", ("prompt", "completion", "label"), MEDIA,
         signature=("prompt", "completion", "label"), fields=(("prompt", "prompt"), ("completion", "completion"), ("label", "bool"))),
    Spec("prompt-only", "TRL prompt-only", ("prompt",), MEDIA, signature=("prompt",), test="prompt_only",
         fields=(("prompt", "prompt"),), within="prompt-completion"),
    Spec("prompt-completion", "prompt/completion (OpenAI legacy, TRL)", ("prompt", "completion"), MEDIA,
         any_of=("prompt", "completion"), fields=(("prompt", "prompt"), ("completion", "completion"))),
    Spec("text", "language modelling text", ("text",), MEDIA, signature=("text",), fields=(("text", "lm-text"),)),
)
SPEC = {sp.name: sp for sp in SPECS}
FORMATS = ("chat", "prompt-completion", "alpaca", "sharegpt", "dpo", "preference", "prompt-only", "kto", "stepwise",
           "text", "gemini", "bedrock", "claude", "rft")
assert set(FORMATS) == set(SPEC)

#: keys each format requires: a null one is reported as null; every other null key is absent
REQUIRED = {sp.name: sp.required for sp in SPECS}

# the keys that make detect() recognize a format (a near miss of one is likely a typo)
TOP_KEYS = tuple(dict.fromkeys(k for sp in SPECS for k in sp.signature + sp.any_of + sp.required
                               if k not in ("label", "labels", "system", "text", "schemaVersion")))

#: keys of an OpenAI chat record (an RFT record has others: its grader's reference fields)
CHAT_KEYS = frozenset(SPEC["chat"].required + SPEC["chat"].optional)


def _system_is_text(obj: dict) -> bool:
    return isinstance(obj.get("system"), str)


def _rft_like(obj: dict) -> bool:
    """messages that end with the user's turn, next to keys chat does not have (grader fields)."""
    msgs = obj.get("messages")
    return (isinstance(msgs, list) and bool(msgs) and isinstance(msgs[-1], dict) and msgs[-1].get("role") == "user"
            and any(k not in CHAT_KEYS for k in obj))


def _alpaca_like(obj: dict) -> bool:
    return "instruction" in obj or ("output" in obj and "input" in obj)


def _prompt_only(obj: dict) -> bool:
    """a prompt and nothing else (an unknown key next to it may be a misspelt completion)."""
    return all(k == "prompt" or k in MEDIA for k in obj)


KEY_TESTS = frozenset({"prompt_only", "alpaca_like"})  # tests that read only the keys
TESTS = {"prompt_only": _prompt_only, "system_is_text": _system_is_text, "rft_like": _rft_like, "alpaca_like": _alpaca_like}


def _close(word: str, choices) -> str | None:
    """The one choice ``word`` is a typo of (difflib ratio >= 0.8, a unique best match), or None."""
    import difflib

    m = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.8)
    return m[0] if len(m) == 1 else None


def _renamed(obj: dict, old: str, new: str) -> dict:
    """``obj`` with key ``old`` renamed to ``new``, in the same place."""
    return {new if k == old else k: v for k, v in obj.items()}


def _unknown_key(obj: dict, k: str, allowed, base: str, message: str) -> Problem:
    """An unknown key; when it is a typo of an allowed key the object lacks ("mesages",
    "message", "contnet"), the repair renames it."""
    meant = _close(k, [a for a in allowed if a not in obj]) if isinstance(k, str) else None
    if meant is None:
        return Problem("unknown-key", base + P(k), message)
    return Problem("unknown-key", base + P(k), f"{message}; did you mean {meant!r}?", repair=(base, _renamed(obj, k, meant)))


def without_nulls(d: dict, keep: tuple = ()) -> dict:
    """``d`` without its null-valued keys: null means absent (pandas' and ``datasets``'
    ``to_json`` fill every column a record lacks with null). Keys in ``keep`` stay, so a
    required key given as null is still reported as null."""
    if None not in d.values():
        return d
    return {k: v for k, v in d.items() if v is not None or k in keep}


def _each_object(rec: "Record", v: Any, base: str, name: str, empty: str, item: str, keep: tuple):
    """(index, pointer, the object without its null keys) for each object of list ``v``; a
    problem for ``v`` not being a list, being empty, and for each element that is no object."""
    if not isinstance(v, list):
        rec.problems.append(Problem("wrong-type", base, f"{name} must be an array, got {_type_name(v)}"))
        return
    if not v:
        rec.problems.append(Problem("empty-messages", base, empty))
        return
    for i, m in enumerate(v):
        mp = base + P(i)
        if not isinstance(m, dict):
            rec.problems.append(Problem("wrong-type", mp, f"{item} must be an object, got {_type_name(m)}"))
            continue
        yield i, mp, without_nulls(m, keep)


def _message_list(obj) -> bool:
    """A bare array of chat messages (a record written without its {"messages": ...})."""
    return (isinstance(obj, list) and bool(obj) and all(isinstance(m, dict) for m in obj)
            and all(isinstance(m.get("role"), str) and "content" in m for m in obj))


def near_miss(key: str, keys) -> str | None:
    """The record key that looks like a misspelling of ``key`` (``message`` for ``messages``)."""
    import difflib

    from itertools import islice

    cands = [k for k in islice(keys, 1000) if isinstance(k, str) and k != key and len(k) < 64]
    found = difflib.get_close_matches(key, cands, n=1, cutoff=0.75)
    if not found:
        low = {k.strip().lower(): k for k in cands}
        return low.get(key)
    return found[0]


def _did_you_mean(key: str, obj: dict) -> str:
    k = near_miss(key, obj)
    return f" (found {k!r}: did you mean {key!r}?)" if k is not None else ""


def record_format(detected: str, file_format: str, forced: str | None) -> str:
    """The format a record is normalized as: the forced one (``--format``, config ``format``)
    for every record; else its own; else (a record that fits no format) the file's."""
    if forced:
        return forced
    return family(detected, file_format) if detected != "unknown" else file_format


def family(detected: str, file_format: str) -> str:
    """The format a record detected as ``detected`` counts as in a file of ``file_format``: the
    file's own when the record's shape is a part of it (a prompt-only record in a
    prompt/completion file is one missing its completion), else its own."""
    sp = SPEC.get(detected)
    return file_format if sp is not None and sp.within and sp.within == file_format else detected


def detect(obj: Any) -> str:
    """Guess the format of one parsed record ("unknown" when nothing fits). Null-valued keys
    count as absent (a column the record lacks); when nothing fits without them, they count."""
    if not isinstance(obj, dict):
        return "unknown"
    if None in obj.values():
        fmt = _detect(without_nulls(obj))
        return fmt if fmt != "unknown" else _detect(obj)
    return _detect(obj)


#: key tuple -> the specs a record with those keys may be (in order), with the value test each
#: still needs (None: it is that format). Records of a file share their keys, so detection is
#: one dict lookup and, for a few formats, one test of values.
_CANDIDATES: dict[tuple, tuple] = {}


def _detect(obj: dict) -> str:
    keys = tuple(obj)
    cands = _CANDIDATES.get(keys)
    if cands is None:
        if len(_CANDIDATES) >= 4096:
            _CANDIDATES.clear()
        cands = _CANDIDATES[keys] = _candidates(obj)
    for name, test in cands:
        if test is None or test(obj):
            return name
    return "unknown"


def _candidates(obj: dict) -> tuple:
    out = []
    for sp in SPECS:
        if not (sp.signature or sp.any_of or sp.test):
            continue
        if not all(k in obj for k in sp.signature) or (sp.any_of and not any(k in obj for k in sp.any_of)):
            continue
        if sp.test in KEY_TESTS:
            if TESTS[sp.test](obj):
                out.append((sp.name, None))
                break
            continue
        out.append((sp.name, TESTS[sp.test] if sp.test else None))
        if not sp.test:
            break  # nothing after it is ever reached
    return tuple(out)


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


class Normalizer:
    """Builds turns and structural problems for one record of a known format."""

    def __init__(self, params: dict | None = None):
        params = params or {}
        self.chat_alternation = bool(params.get("chat-require-alternation", False))

    def normalize(self, rec: Record, fmt: str) -> None:
        rec.format = fmt
        obj = rec.obj
        if not isinstance(obj, dict):
            wrap = ("", {"messages": obj}) if _message_list(obj) else None
            hint = " (a bare message array: wrap it in an object under 'messages')" if wrap else ""
            rec.problems.append(Problem("not-object", "", f"record is a JSON {_type_name(obj)}, expected an object{hint}",
                                        repair=wrap))
            return
        sp = SPEC[fmt] if fmt in SPEC else None
        if sp is None:
            self._unknown(rec, obj)
            return
        obj = without_nulls(obj, sp.required)
        getattr(self, sp.method)(rec, obj, sp)

    # -- helpers --------------------------------------------------------------
    @staticmethod
    def _unknown_keys(rec: Record, obj: dict, allowed: set[str], fmt: str, base: str = "") -> None:
        for k in obj:
            if k not in allowed:
                rec.problems.append(_unknown_key(obj, k, allowed, base, f"unrecognized key {k!r} for {fmt} records (allowed: {', '.join(sorted(allowed))})"))

    @staticmethod
    def _require(rec: Record, obj: dict, key: str, types: tuple, fmt: str, base: str = "") -> bool:
        if key not in obj:
            rec.problems.append(Problem("missing-key", base, f"missing required key {key!r} for {fmt} records{_did_you_mean(key, obj)}"))
            return False
        v = obj[key]
        if not isinstance(v, types) or isinstance(v, bool) and bool not in types:
            want = " or ".join(_type_name(t()) if t is not type(None) else "null" for t in types)
            rec.problems.append(Problem("wrong-type", base + P(key), f"{key!r} must be a {want}, got {_type_name(v)}"))
            return False
        return True

    @staticmethod
    def _present(rec: Record, obj: dict, key: str, fmt: str) -> bool:
        """Whether required ``key`` is there; a missing-key problem (with a did-you-mean) if not."""
        if key in obj:
            return True
        rec.problems.append(Problem("missing-key", "", f"missing required key {key!r} for {fmt} records{_did_you_mean(key, obj)}"))
        return False

    def _text_field(self, rec: Record, obj: dict, key: str, role: str, kind: str, base: str = "", branch: str = "", required: bool = True, fmt: str = "") -> None:
        if key not in obj:
            if required:
                rec.problems.append(Problem("missing-key", base, f"missing required key {key!r} for {fmt} records{_did_you_mean(key, obj)}"))
            return
        v = obj[key]
        if not isinstance(v, str):
            rec.problems.append(Problem("wrong-type", base + P(key), f"{key!r} must be a string, got {_type_name(v)}"))
            return
        rec.turns.append(Turn(role, v, base + P(key), kind, key, branch, -1))

    # -- OpenAI chat ----------------------------------------------------------
    def _messages(self, rec: Record, msgs: Any, base: str, branch: str = "", tools: set[str] | None = None, require_answer: bool = True, alternation: bool = False,
                  dialect: "Dialect | None" = None) -> list[str]:
        d = dialect or OPENAI
        if not isinstance(msgs, list):
            rec.problems.append(Problem("wrong-type", base, f"messages must be an array, got {_type_name(msgs)}"))
            return []
        if not msgs and require_answer:
            rec.problems.append(Problem("empty-messages", base, "message list is empty"))
            return []
        roles: list[str] = []
        for i, m in enumerate(msgs):
            mp = base + P(i)
            if not isinstance(m, dict):
                rec.problems.append(Problem("wrong-type", mp, f"message must be an object, got {_type_name(m)}"))
                continue
            m = without_nulls(m, ("role", "content"))
            role = m.get("role")
            if role is None:
                rec.problems.append(Problem("missing-key", mp, "message is missing 'role'"))
                continue
            if not isinstance(role, str):
                rec.problems.append(Problem("wrong-type", mp + "/role", f"role must be a string, got {_type_name(role)}"))
                continue
            if role not in d.roles:
                meant = ROLE_ALIASES.get(role.strip().lower()) or _close(role.strip().lower(), d.roles)
                meant = meant if meant in d.roles else None
                rec.problems.append(Problem("unknown-role", mp + "/role", f"unknown role {role!r} (expected one of {', '.join(d.role_list)})"
                                            + (f"; it means {meant!r}" if meant else ""), repair=(mp + "/role", meant) if meant else None))
                continue
            roles.append(role)
            kind = KIND_OF_ROLE[role]
            has_calls = "tool_calls" in m or "function_call" in m
            allowed = d.keys
            for k in m:
                if k not in allowed:
                    rec.problems.append(_unknown_key(m, k, allowed, mp, f"unrecognized key {k!r} in {article(str(role))} message"))
            if "content" not in m:
                if not (role == "assistant" and has_calls):
                    rec.problems.append(Problem("missing-key", mp, f"{role} message is missing 'content'"))
            else:
                c = m["content"]
                if isinstance(c, str) and d.string_content:
                    rec.turns.append(Turn(role, c, mp + "/content", kind, "content", branch, i))
                elif c is None:
                    if not (role == "assistant" and has_calls):
                        rec.problems.append(Problem("wrong-type", mp + "/content", f"{role} message content is null"))
                elif not d.string_content and not isinstance(c, list):
                    rec.problems.append(Problem("wrong-type", mp + "/content", f"content must be an array of content blocks ({d.name}), got {_type_name(c)}"))
                elif isinstance(c, list) and c and all(isinstance(part, str) for part in c):
                    rec.turns.append(Turn(role, "\n".join(c), mp + "/content", kind, "content", branch, i))
                    rec.problems.append(Problem("wrong-type", mp + "/content", "content is an array of strings; it must be a string or an array of text parts (objects with type and text)",
                                                repair=(mp + "/content", "\n".join(c))))
                elif isinstance(c, list):
                    for j, part in enumerate(c):
                        pp = mp + f"/content/{j}"
                        if isinstance(part, dict) and isinstance(part.get("text"), str):
                            rec.turns.append(Turn(role, part["text"], pp + "/text", kind, "content", branch, i))
                        elif isinstance(part, dict) and (part.get("type") in d.media_types
                                                         or ("type" not in part and len(part) == 1 and next(iter(part)) in d.media_keys)):
                            pass
                        elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("value"), str):
                            # LLaMA-Factory's v1 layout: still check the text, and say what to rename
                            rec.turns.append(Turn(role, part["value"], pp + "/value", kind, "content", branch, i))
                            rec.problems.append(Problem("wrong-type", pp + "/value", "text part holds its text in 'value' (LLaMA-Factory v1 layout); OpenAI chat expects 'text'"))
                        else:
                            rec.problems.append(Problem("wrong-type", pp, f"content part must be an object with a string 'text' (or {d.media_hint})"))
                else:
                    rec.problems.append(Problem("wrong-type", mp + "/content", f"content must be a string, an array of parts or null, got {_type_name(c)}"))
            if "weight" in m:
                w = m["weight"]
                if role != "assistant":
                    rec.problems.append(Problem("weight-invalid", mp + "/weight", f"'weight' is only allowed on assistant messages, found on {article(str(role))} message"))
                elif isinstance(w, bool) or w not in (0, 1):
                    rec.problems.append(Problem("weight-invalid", mp + "/weight", f"'weight' must be 0 or 1, got {orjson.dumps(w).decode()}"))
            if "tool_calls" in m:
                self._tool_calls(rec, m["tool_calls"], mp + "/tool_calls", tools)
            if "function_call" in m and isinstance(m["function_call"], dict):
                self._one_call(rec, m["function_call"], mp + "/function_call", tools)
        self._order(rec, roles, base, require_answer, alternation)
        return roles

    def _order(self, rec: Record, roles: list[str], base: str, require_answer: bool, alternation: bool) -> None:
        if not roles:
            return
        for i, r in enumerate(roles):
            if r in ("system", "developer") and i > 0 and roles[i - 1] not in ("system", "developer"):
                rec.problems.append(Problem("system-not-first", base + P(i), f"{r} message at position {i} comes after {article(str(roles[i - 1]))} message; system messages must come first"))
                break
        if require_answer:
            if "assistant" not in roles:
                rec.problems.append(Problem("no-assistant", base, "conversation has no assistant turn: nothing to train on"))
            elif roles[-1] != "assistant":
                rec.problems.append(Problem("not-ending-assistant", base + P(len(roles) - 1), f"conversation ends with {article(str(roles[-1]))} turn, not an assistant turn"))
        if alternation:
            body = [r for r in roles if r not in ("system", "developer")]
            for i in range(1, len(body)):
                if body[i] == body[i - 1] and body[i] in ("user", "assistant"):
                    off = len(roles) - len(body)
                    rec.problems.append(Problem("role-not-alternating", base + P(i + off), f"two {body[i]} turns in a row at positions {i + off - 1} and {i + off}; this format requires alternating turns"))
                    break

    def _tool_calls(self, rec: Record, calls: Any, base: str, tools: set[str] | None) -> None:
        if not isinstance(calls, list):
            rec.problems.append(Problem("wrong-type", base, f"tool_calls must be an array, got {_type_name(calls)}"))
            return
        for i, call in enumerate(calls):
            cp = base + P(i)
            if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
                rec.problems.append(Problem("wrong-type", cp, "tool call must be an object with a 'function' object"))
                continue
            self._one_call(rec, call["function"], cp + "/function", tools)

    def _one_call(self, rec: Record, fn: dict, base: str, tools: set[str] | None) -> None:
        name = fn.get("name")
        if not isinstance(name, str):
            rec.problems.append(Problem("wrong-type", base + "/name", "tool call needs a string 'name'"))
        elif tools is not None and name not in tools:
            rec.problems.append(Problem("tool-undeclared", base + "/name", f"tool call names {name!r}, which is not declared in 'tools' ({', '.join(sorted(tools)) or 'none declared'})"))
        args = fn.get("arguments")
        if isinstance(args, str):
            try:
                orjson.loads(args)
            except orjson.JSONDecodeError as e:
                rec.problems.append(Problem("tool-args-invalid", base + "/arguments", f"tool call arguments are not valid JSON: {str(e).split(':')[0]}"))
        elif args is not None and not isinstance(args, dict):
            # an object is the Hugging Face chat-template convention (a JSON string is OpenAI's)
            rec.problems.append(Problem("wrong-type", base + "/arguments", f"arguments must be a JSON string or an object, got {_type_name(args)}"))

    @staticmethod
    def _declared_tools(rec: Record, obj: dict) -> set[str] | None:
        names: set[str] | None = None
        for key in ("tools", "functions"):
            if key not in obj:
                continue
            v = obj[key]
            if isinstance(v, str):  # ShareGPT/LLaMA-Factory keep tools as a JSON string
                try:
                    v = orjson.loads(v) if v.strip() else []
                except orjson.JSONDecodeError:
                    rec.problems.append(Problem("wrong-type", P(key), f"{key!r} is a string that is not valid JSON"))
                    continue
            if not isinstance(v, list):
                rec.problems.append(Problem("wrong-type", P(key), f"{key!r} must be an array, got {_type_name(v)}"))
                continue
            names = names or set()
            for t in v:
                if isinstance(t, dict):
                    fn = t.get("function") if isinstance(t.get("function"), dict) else t
                    if isinstance(fn.get("name"), str):
                        names.add(fn["name"])
        return names

    def _chat(self, rec: Record, obj: dict, sp: Spec) -> None:
        allowed = set(sp.allowed)
        if not isinstance(obj.get("label"), bool):  # KTO (TRL, LLaMA-Factory): a desirable/undesirable label
            allowed.discard("label")
        self._unknown_keys(rec, obj, allowed, "chat")
        self._media(rec, obj)
        tools = self._declared_tools(rec, obj)
        if self._present(rec, obj, "messages", "chat"):
            self._messages(rec, obj["messages"], "/messages", tools=tools, alternation=self.chat_alternation)

    # -- Alpaca ---------------------------------------------------------------
    def _alpaca(self, rec: Record, obj: dict, sp: Spec) -> None:
        self._unknown_keys(rec, obj, sp.allowed, "alpaca")
        self._media(rec, obj)
        self._text_field(rec, obj, "system", "system", "system", required=False)
        h = obj.get("history")
        if h is not None:
            if not isinstance(h, list):
                rec.problems.append(Problem("wrong-type", "/history", f"'history' must be an array of [instruction, response] pairs, got {_type_name(h)}"))
            else:
                for i, pair in enumerate(h):
                    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                        rec.problems.append(Problem("wrong-type", f"/history/{i}", "each history entry must be a [instruction, response] pair of strings"))
                        continue
                    rec.turns.append(Turn("user", pair[0], f"/history/{i}/0", "prompt", "history", "", i))
                    rec.turns.append(Turn("assistant", pair[1], f"/history/{i}/1", "answer", "history", "", i))
        self._text_field(rec, obj, "instruction", "user", "prompt", fmt="alpaca")
        self._text_field(rec, obj, "input", "user", "input", required=False)
        self._text_field(rec, obj, "output", "assistant", "answer", fmt="alpaca")

    # -- ShareGPT -------------------------------------------------------------
    def _sharegpt_list(self, rec: Record, conv: Any, base: str, branch: str = "", require_answer: bool = True) -> list[str]:
        roles: list[str] = []
        for i, mp, m in _each_object(rec, conv, base, "'conversations'", "conversation is empty", "turn", ("from", "value")):
            frm = m.get("from")
            if not isinstance(frm, str):
                rec.problems.append(Problem("missing-key" if frm is None else "wrong-type", mp, "turn needs a string 'from'"))
                continue
            role = SHAREGPT_ROLES.get(frm)
            if role is None:
                low = frm.strip().lower()
                meant = {"assistant": "gpt", "user": "human"}.get(ROLE_ALIASES.get(low, "")) or _close(low, SHAREGPT_ROLES)
                rec.problems.append(Problem("unknown-role", mp + "/from", f"unknown 'from' value {frm!r} (expected human, gpt, system, function_call, observation)"
                                            + (f"; it means {meant!r}" if meant else ""), repair=(mp + "/from", meant) if meant else None))
                continue
            for k in m:
                if k not in ("from", "value", "weight", "loss"):
                    rec.problems.append(Problem("unknown-key", mp + P(k), f"unrecognized key {k!r} in a ShareGPT turn"))
            v = m.get("value")
            if not isinstance(v, str):
                rec.problems.append(Problem("missing-key" if "value" not in m else "wrong-type", mp + ("/value" if "value" in m else ""), "turn needs a string 'value'"))
            else:
                rec.turns.append(Turn(role, v, mp + "/value", KIND_OF_ROLE[role], "value", branch, i))
            if role == "tool_call" and isinstance(v, str):
                try:
                    orjson.loads(v)
                except orjson.JSONDecodeError:
                    rec.problems.append(Problem("tool-args-invalid", mp + "/value", "function_call value is not valid JSON"))
            roles.append(role)
        return roles

    def _sharegpt_order(self, rec: Record, roles: list[str], base: str, require_answer: bool) -> None:
        body = [r for r in roles if r != "system"]
        if roles and "system" in roles[1:]:
            i = roles.index("system", 1)
            rec.problems.append(Problem("system-not-first", base + P(i), f"system turn at position {i}; it must come first"))
        # LLaMA-Factory's rule: human/observation at even body positions, gpt/function_call at odd ones.
        off = len(roles) - len(body)
        for i, r in enumerate(body):
            want_prompt = i % 2 == 0
            is_prompt = r in ("user", "tool")
            if want_prompt != is_prompt:
                rec.problems.append(Problem("role-not-alternating", base + P(i + off), f"turn {i + off} is {'a prompt' if is_prompt else 'an answer'} turn where ShareGPT requires {'human/observation' if want_prompt else 'gpt/function_call'} (turns must alternate)"))
                break
        if require_answer and body:
            if not any(r == "assistant" for r in body):
                rec.problems.append(Problem("no-assistant", base, "conversation has no gpt turn: nothing to train on"))
            elif body[-1] not in ("assistant", "tool_call"):
                rec.problems.append(Problem("not-ending-assistant", base + P(len(roles) - 1), "conversation ends with a human turn, not a gpt turn"))

    def _sharegpt(self, rec: Record, obj: dict, sp: Spec) -> None:
        self._unknown_keys(rec, obj, sp.allowed, "sharegpt")
        self._media(rec, obj)
        self._text_field(rec, obj, "system", "system", "system", required=False)
        self._declared_tools(rec, obj)
        if self._present(rec, obj, "conversations", "sharegpt"):
            roles = self._sharegpt_list(rec, obj["conversations"], "/conversations")
            self._sharegpt_order(rec, roles, "/conversations", True)

    # -- preference pairs -----------------------------------------------------
    def _dpo(self, rec: Record, obj: dict, sp: Spec) -> None:
        self._unknown_keys(rec, obj, sp.allowed, "dpo")
        if self._require(rec, obj, "input", (dict,), "dpo"):
            inp = without_nulls(obj["input"], ("messages",))
            tools = self._declared_tools(rec, inp)
            if "messages" not in inp:
                rec.problems.append(Problem("missing-key", "/input", f"DPO 'input' needs 'messages'{_did_you_mean('messages', inp)}"))
            else:
                self._messages(rec, inp["messages"], "/input/messages", tools=tools, require_answer=False)
        outs = {}
        for key, branch in (("preferred_output", "chosen"), ("non_preferred_output", "rejected")):
            if self._require(rec, obj, key, (list,), "dpo"):
                self._messages(rec, obj[key], P(key), branch=branch, require_answer=True)
                outs[branch] = obj[key]
        self._same_pair(rec, outs, "/non_preferred_output")

    def _preference(self, rec: Record, obj: dict, sp: Spec) -> None:
        self._unknown_keys(rec, obj, sp.allowed, "preference")
        self._media(rec, obj)
        if "conversations" in obj:  # LLaMA-Factory ShareGPT-style pairs
            roles = self._sharegpt_list(rec, obj["conversations"], "/conversations", require_answer=False)
            self._sharegpt_order(rec, roles + ["assistant"], "/conversations", False)
        elif "instruction" in obj:  # LLaMA-Factory Alpaca-style pairs
            self._text_field(rec, obj, "system", "system", "system", required=False)
            self._text_field(rec, obj, "instruction", "user", "prompt", fmt="preference")
            self._text_field(rec, obj, "input", "user", "input", required=False)
        elif "prompt" in obj:
            p = obj["prompt"]
            if isinstance(p, str):
                rec.turns.append(Turn("user", p, "/prompt", "prompt", "prompt", "", -1))
            else:
                self._messages(rec, p, "/prompt", require_answer=False)
        outs = {}
        for key in ("chosen", "rejected"):
            v = obj.get(key)
            if isinstance(v, str):
                rec.turns.append(Turn("assistant", v, P(key), "answer", key, key, -1))
            elif isinstance(v, list):
                self._messages(rec, v, P(key), branch=key, require_answer=True)
            elif isinstance(v, dict) and "from" in v:  # ShareGPT pair element
                val = v.get("value")
                if isinstance(val, str):
                    rec.turns.append(Turn("assistant", val, P(key) + "/value", "answer", "value", key, -1))
                else:
                    rec.problems.append(Problem("wrong-type", P(key), f"{key!r} needs a string 'value'"))
            else:
                rec.problems.append(Problem("wrong-type", P(key), f"{key!r} must be a string, a message list or a {{from, value}} object, got {_type_name(v)}"))
                continue
            outs[key] = v
        self._same_pair(rec, outs, "/rejected")
        if (len(outs) == 2 and isinstance(outs["chosen"], list) and isinstance(outs["rejected"], list)
                and not any(k in obj for k in ("prompt", "instruction", "conversations", "messages"))):
            self._implicit_prompt(rec, outs["chosen"], outs["rejected"])

    @staticmethod
    def _same_pair(rec: Record, outs: dict, ptr: str) -> None:
        if len(outs) == 2 and outs["chosen"] == outs["rejected"]:
            rec.problems.append(Problem("dpo-identical", ptr, "the preferred and rejected answers are identical: the pair teaches nothing"))


    # -- shapes read from the spec table (Spec.fields) ---------------------------
    def _fields(self, rec: Record, obj: dict, sp: Spec) -> None:
        if sp.allowed is not None:
            self._unknown_keys(rec, obj, sp.allowed, sp.name)
        self._media(rec, obj)
        tools = None
        for key, ftype in sp.fields:
            if key not in obj:
                if key in sp.required:
                    rec.problems.append(Problem("missing-key", "", f"missing required key {key!r} for {sp.name} records{_did_you_mean(key, obj)}"))
                continue
            if ftype == "tools":
                tools = self._declared_tools(rec, obj)
            elif ftype == "gemini-tools":
                tools = self._gemini_tools(rec, obj[key])
            else:
                FIELD_READERS[ftype](self, rec, obj[key], P(key), key, tools)
        if sp.after:
            getattr(self, sp.after)(rec, obj)

    def _text_or_messages(self, rec: Record, v: Any, ptr: str, key: str, tools, role: str, kind: str, lists: bool) -> None:
        """A string turn of ``role``/``kind`` or (``lists``: TRL's conversational form) a message
        list, which must end with an answer when ``role`` is the assistant's."""
        if isinstance(v, str):
            rec.turns.append(Turn(role, v, ptr, kind, key, "", -1))
        elif lists and isinstance(v, list):
            self._messages(rec, v, ptr, tools=tools, require_answer=role == "assistant")
        else:
            want = "a string or a message list" if lists else "a string"
            rec.problems.append(Problem("wrong-type", ptr, f"{key!r} must be {want}, got {_type_name(v)}"))

    def _f_steps(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        if not isinstance(v, list) or not v:
            rec.problems.append(Problem("wrong-type" if not isinstance(v, list) else "empty-messages", ptr,
                                        f"{key!r} must be a non-empty array of step strings, got {_type_name(v) if not isinstance(v, list) else 'an empty array'}"))
            return
        for i, step in enumerate(v):
            if isinstance(step, str):
                rec.turns.append(Turn("assistant", step, ptr + P(i), "answer", key, "", i))
            else:
                rec.problems.append(Problem("wrong-type", ptr + P(i), f"each step must be a string, got {_type_name(step)}"))

    def _f_step_labels(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        if not isinstance(v, list) or not all(isinstance(x, bool) for x in v):
            rec.problems.append(Problem("wrong-type", ptr, f"{key!r} must be an array of booleans (one per step)"))

    def _stepwise_lengths(self, rec: Record, obj: dict) -> None:
        c, lab = obj.get("completions"), obj.get("labels")
        if isinstance(c, list) and isinstance(lab, list) and len(c) != len(lab):
            rec.problems.append(Problem("wrong-type", "/labels", f"{len(lab)} labels for {len(c)} completion steps: stepwise supervision needs one label per step"))

    def _f_bool(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        if not isinstance(v, bool):
            rec.problems.append(Problem("wrong-type", ptr, f"{key!r} must be true or false, got {_type_name(v)}"))

    def _f_schema_version(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        if v != "bedrock-conversation-2024":
            rec.problems.append(Problem("wrong-type", ptr, f"'schemaVersion' must be \"bedrock-conversation-2024\", got {orjson.dumps(v).decode()[:60]}"))

    def _f_system_parts(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        """Bedrock's ``system``: a list of {"text": ...} blocks."""
        if not isinstance(v, list):
            rec.problems.append(Problem("wrong-type", ptr, f"{key!r} must be an array of {{\"text\": ...}} blocks, got {_type_name(v)}"))
            return
        for i, part in enumerate(v):
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                rec.turns.append(Turn("system", part["text"], ptr + P(i) + "/text", "system", key, "", i))
            else:
                rec.problems.append(Problem("wrong-type", ptr + P(i), "a system block must be an object with a string 'text'"))

    def _f_bedrock_messages(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        self._messages(rec, v, ptr, dialect=BEDROCK, alternation=True)

    def _f_claude_messages(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        self._messages(rec, v, ptr, dialect=CLAUDE, alternation=True)

    def _f_rft_messages(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        """RFT: the model answers live, so the conversation ends with the user's turn."""
        roles = self._messages(rec, v, ptr, tools=tools, require_answer=False)
        if roles and roles[-1] != "user":
            rec.problems.append(Problem("not-ending-user", ptr + P(len(roles) - 1), f"a reinforcement fine-tuning conversation ends with the user's turn (the model answers it), not {article(roles[-1])} turn"))

    def _f_reference(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        if isinstance(v, str):  # what the grader compares the model's answer with
            rec.turns.append(Turn("assistant", v, ptr, "answer", key, "", -1))

    # -- Gemini / Vertex AI -------------------------------------------------------
    def _f_gemini_system(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        if not isinstance(v, dict) or not isinstance(v.get("parts"), list):
            rec.problems.append(Problem("wrong-type", ptr, f"{key!r} must be an object with 'parts' (a list of {{\"text\": ...}})"))
            return
        self._gemini_parts(rec, v["parts"], ptr + "/parts", "system", None, -1)

    def _gemini_tools(self, rec: Record, v: Any) -> set[str] | None:
        if not isinstance(v, list):
            rec.problems.append(Problem("wrong-type", "/tools", f"'tools' must be an array, got {_type_name(v)}"))
            return None
        names: set[str] = set()
        for t in v:
            decls = t.get("functionDeclarations", t.get("function_declarations")) if isinstance(t, dict) else None
            if isinstance(decls, list):
                names.update(d["name"] for d in decls if isinstance(d, dict) and isinstance(d.get("name"), str))
        return names or None

    def _f_gemini_contents(self, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        roles: list[str] = []
        for i, cp, c in _each_object(rec, v, ptr, "'contents'", "'contents' is empty", "a content", ("role", "parts")):
            for k in c:
                if k not in ("role", "parts"):
                    rec.problems.append(_unknown_key(c, k, ("role", "parts"), cp, f"unrecognized key {k!r} in a Gemini content"))
            role = c.get("role")
            if role not in GEMINI_ROLES:
                meant = {"assistant": "model", "bot": "model", "gpt": "model", "human": "user"}.get(str(role).strip().lower())
                rec.problems.append(Problem("unknown-role" if isinstance(role, str) else "missing-key", cp + ("/role" if "role" in c else ""),
                                            f"unknown role {role!r} (Gemini uses user and model)" + (f"; it means {meant!r}" if meant else ""),
                                            repair=(cp + "/role", meant) if meant and isinstance(role, str) else None))
                continue
            if not isinstance(c.get("parts"), list) or not c["parts"]:
                rec.problems.append(Problem("missing-key" if "parts" not in c else "wrong-type", cp, "a content needs a non-empty 'parts' array"))
                continue
            roles.append(GEMINI_ROLES[role])
            self._gemini_parts(rec, c["parts"], cp + "/parts", GEMINI_ROLES[role], tools, i)
        self._order(rec, roles, ptr, True, False)

    def _gemini_parts(self, rec: Record, parts: list, ptr: str, role: str, tools, index: int) -> None:
        for j, part in enumerate(parts):
            pp = ptr + P(j)
            if not isinstance(part, dict):
                rec.problems.append(Problem("wrong-type", pp, f"a part must be an object, got {_type_name(part)}"))
                continue
            if isinstance(part.get("text"), str):
                rec.turns.append(Turn(role, part["text"], pp + "/text", KIND_OF_ROLE[role], "text", "", index))
            elif "functionCall" in part:
                fc = part["functionCall"]
                if not isinstance(fc, dict) or not isinstance(fc.get("name"), str):
                    rec.problems.append(Problem("wrong-type", pp + "/functionCall", "a functionCall needs a string 'name'"))
                elif tools is not None and fc["name"] not in tools:
                    rec.problems.append(Problem("tool-undeclared", pp + "/functionCall/name", f"functionCall names {fc['name']!r}, which is not declared in 'tools' ({', '.join(sorted(tools))})"))
                elif "args" in fc and not isinstance(fc["args"], dict):
                    rec.problems.append(Problem("wrong-type", pp + "/functionCall/args", f"functionCall 'args' must be an object, got {_type_name(fc['args'])}"))
            elif not any(k in part for k in GEMINI_PARTS):
                rec.problems.append(Problem("wrong-type", pp, f"a part needs one of text, {', '.join(GEMINI_PARTS)}"))

    # -- preference pairs without a prompt ------------------------------------------
    @staticmethod
    def _implicit_prompt(rec: Record, chosen: list, rejected: list) -> None:
        """TRL takes the shared start of chosen and rejected as the prompt: they must agree up to
        the answer (everything before each one's trailing assistant turns)."""
        def head(msgs):
            n = len(msgs)
            while n and isinstance(msgs[n - 1], dict) and msgs[n - 1].get("role") == "assistant":
                n -= 1
            return msgs[:n]

        a, b = head(chosen), head(rejected)
        if a != b:
            i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            rec.problems.append(Problem("pair-prompt-differs", f"/rejected/{min(i, max(len(rejected) - 1, 0))}",
                                        f"chosen and rejected differ before their answers (at message {i}): with no 'prompt', the shared start is the prompt, so the pair would train on a cut prompt"))

    @staticmethod
    def _media(rec: Record, obj: dict) -> None:
        if "images" not in obj and "videos" not in obj and "audios" not in obj:
            return
        for key in MEDIA:
            v = obj.get(key)
            if v is not None and not isinstance(v, (list, str, dict)):
                rec.problems.append(Problem("wrong-type", P(key), f"{key!r} must be an array, got {_type_name(v)}"))

    def _unknown(self, rec: Record, obj: dict, sp: Spec | None = None) -> None:
        keys = ", ".join(str(k)[:40] for k in list(obj)[:6]) or "no keys"
        hint = ""
        for want in TOP_KEYS:
            k = near_miss(want, obj)
            if k is not None:
                hint = f" (found {k!r}: did you mean {want!r}?)"
                break
        rec.problems.append(Problem("unknown-format", "", f"record matches no known format (keys: {keys}){hint}; expected one of: {EXPECTED}"))


EXPECTED = ("messages (chat, RFT, Claude, Bedrock with schemaVersion), prompt/completion, prompt, prompt/completion/label, "
            "prompt/completions/labels, text, instruction/output, conversations, contents (Gemini) or chosen/rejected")
GEMINI_ROLES = {"user": "user", "model": "assistant", "function": "tool"}
GEMINI_PARTS = ("functionCall", "functionResponse", "inlineData", "fileData", "executableCode", "codeExecutionResult", "thought")

def _text_reader(role: str, kind: str, lists: bool):
    def read(n: Normalizer, rec: Record, v: Any, ptr: str, key: str, tools) -> None:
        n._text_or_messages(rec, v, ptr, key, tools, role, kind, lists)
    return read


FIELD_READERS = {
    # TRL's prompt and completion: a string (standard) or a message list (conversational)
    "prompt": _text_reader("user", "prompt", True), "completion": _text_reader("assistant", "answer", True),
    # language modelling: every token of the text is trained on, as an answer's are
    "lm-text": _text_reader("assistant", "answer", False),
    "system-text": _text_reader("system", "system", False), "steps": Normalizer._f_steps, "step-labels": Normalizer._f_step_labels,
    "bool": Normalizer._f_bool, "schema-version": Normalizer._f_schema_version, "system-parts": Normalizer._f_system_parts,
    "bedrock-messages": Normalizer._f_bedrock_messages, "claude-messages": Normalizer._f_claude_messages,
    "rft-messages": Normalizer._f_rft_messages, "reference": Normalizer._f_reference,
    "gemini-system": Normalizer._f_gemini_system, "gemini-contents": Normalizer._f_gemini_contents,
}
assert {t for sp in SPECS for _, t in sp.fields} <= set(FIELD_READERS) | {"tools", "gemini-tools"}


def resolve_format(name: str) -> str:
    name = name.lower()
    name = FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return name
