"""Format detection and normalization into one record view.

Every supported format is turned into a :class:`Record` holding :class:`Turn` objects (role,
text, JSON pointer to the text) plus the raw parsed object. Structural problems found while
normalizing are collected as :class:`Problem` objects; the F rules in ``rules/format.yaml``
select them by ``problem`` id (one normalizer pass serves every F rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from functools import lru_cache

from .diagnostic import pointer as _pointer
from .words import article


@lru_cache(maxsize=4096)
def P(*tokens) -> str:
    return _pointer(*tokens)

FORMATS = ("chat", "prompt-completion", "alpaca", "sharegpt", "dpo", "preference")
FORMAT_ALIASES = {
    "openai": "chat", "messages": "chat", "completion": "prompt-completion",
    "legacy": "prompt-completion", "pc": "prompt-completion", "trl": "preference",
    "openai-dpo": "dpo",
}

# the keys that make detect() recognize a format (a near miss of one is likely a typo)
TOP_KEYS = ("messages", "conversations", "instruction", "output", "prompt", "completion", "chosen", "rejected",
            "preferred_output", "non_preferred_output")

CHAT_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
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

KIND_OF_ROLE = {
    "system": "system", "developer": "system", "user": "prompt", "assistant": "answer",
    "tool": "tool", "function": "tool", "tool_call": "tool",
}


@dataclass(slots=True)
class Turn:
    role: str  # normalized: system/developer/user/assistant/tool/tool_call
    text: str | None
    pointer: str  # JSON pointer to the string (or to the message when there is no text)
    kind: str  # system | prompt | input | answer | tool
    field: str  # original field name ("content", "value", "output", "completion", ...)
    branch: str = ""  # "" or "chosen"/"rejected" for preference pairs
    index: int = 0  # message index inside its list (-1 for scalar fields)


#: every id a :class:`Problem` may carry (what an F rule's ``problem`` parameter may name; a rule
#: naming another id is a config error). Add an id here when the normalizer reports a new one.
PROBLEMS = ("not-object", "unknown-format", "unknown-key", "missing-key", "wrong-type", "empty-messages",
            "unknown-role", "weight-invalid", "system-not-first", "no-assistant", "not-ending-assistant",
            "role-not-alternating", "tool-undeclared", "tool-args-invalid", "dpo-identical")


@dataclass(slots=True)
class Problem:
    problem: str  # id matched by F rules' `problem` parameter
    pointer: str
    message: str
    column: int = 0
    repair: Any = None  # (pointer, new value): the one clear repair, offered as the F rule's fix


# Role names that mean one chat role (other trainers' and chat templates' names for it).
ROLE_ALIASES = {"bot": "assistant", "gpt": "assistant", "ai": "assistant", "model": "assistant",
                "chatbot": "assistant", "chatgpt": "assistant", "human": "user", "person": "user",
                "usr": "user", "sys": "system"}


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


def _message_list(obj) -> bool:
    """A bare array of chat messages (a record written without its {"messages": ...})."""
    return (isinstance(obj, list) and bool(obj) and all(isinstance(m, dict) for m in obj)
            and all(isinstance(m.get("role"), str) and "content" in m for m in obj))


@dataclass(slots=True)
class Record:
    path: str
    line: int
    column: int
    index: int  # 0-based record number in the file
    obj: Any
    data: bytes  # the record's source bytes (JSONL line or array element)
    format: str = "unknown"
    detected: str = "unknown"  # what detect() said of this record alone
    turns: list[Turn] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _hash: str | None = None
    _canon: bytes | None = None
    offset: int = -1  # byte offset of ``data`` in a plain file (re-readable); -1 = unknown
    _key64: int | None = None
    pa_keys: Any = None  # (prompt hash, answer hash) or False, computed once (checks.duplicates)

    @property
    def canonical(self) -> bytes:
        if self._canon is None:
            self._canon = dumps_sorted(self.obj)
        return self._canon

    @property
    def key64(self) -> int:
        """A 64-bit hash of the canonical JSON: the identity of an exact duplicate."""
        if self._key64 is None:
            from .model.hashing import h64

            self._key64 = h64(self.canonical)
        return self._key64

    @property
    def hash(self) -> str:
        if self._hash is None:
            import hashlib

            self._hash = hashlib.blake2b(self.canonical, digest_size=12).hexdigest()
        return self._hash

    def texts(self, kinds: frozenset[str] | None = None):
        for t in self.turns:
            if t.text is not None and (kinds is None or t.kind in kinds):
                yield t

    def answers(self) -> list[Turn]:
        return [t for t in self.turns if t.kind == "answer"]


def dumps_sorted(v: Any, sort: bool = True) -> bytes:
    """Compact JSON (keys sorted unless ``sort`` is false). orjson refuses values nested deeper
    than 255 levels (a record it parsed may nest up to 1,024): those are written, keys sorted,
    by :func:`_dumps_deep`."""
    try:
        return orjson.dumps(v, option=orjson.OPT_SORT_KEYS if sort else None)
    except TypeError:
        return _dumps_deep(v)


def _dumps_deep(v: Any) -> bytes:
    """Sorted-key JSON of any parsed value without recursion (one explicit stack)."""
    out: list[bytes] = []
    stack: list[Any] = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, bytes):  # a piece of punctuation pushed below
            out.append(x)
        elif isinstance(x, dict):
            items = sorted(x.items())
            stack.append(b"}")
            for i in range(len(items) - 1, -1, -1):
                k, val = items[i]
                stack.append(val)
                stack.append(orjson.dumps(k) + b":")
                if i:
                    stack.append(b",")
            stack.append(b"{")
        elif isinstance(x, list):
            stack.append(b"]")
            for i in range(len(x) - 1, -1, -1):
                stack.append(x[i])
                if i:
                    stack.append(b",")
            stack.append(b"[")
        else:
            out.append(orjson.dumps(x))
    return b"".join(out)


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
    return detected if detected != "unknown" else file_format


def detect(obj: Any) -> str:
    """Guess the format of one parsed record ("unknown" when nothing fits). Null-valued keys
    count as absent (a column the record lacks); when nothing fits without them, they count."""
    if not isinstance(obj, dict):
        return "unknown"
    if None in obj.values():
        fmt = _detect(without_nulls(obj))
        return fmt if fmt != "unknown" else _detect(obj)
    return _detect(obj)


def _detect(obj: dict) -> str:
    if "preferred_output" in obj or "non_preferred_output" in obj:
        return "dpo"
    if "chosen" in obj and "rejected" in obj:
        return "preference"
    if "messages" in obj:
        return "chat"
    if "conversations" in obj:
        return "sharegpt"
    if "instruction" in obj or ("output" in obj and "input" in obj):
        return "alpaca"
    if "prompt" in obj or "completion" in obj:
        return "prompt-completion"
    return "unknown"


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
        obj = without_nulls(obj, REQUIRED.get(fmt, ()))
        getattr(self, "_" + fmt.replace("-", "_"))(rec, obj)

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
    def _messages(self, rec: Record, msgs: Any, base: str, branch: str = "", tools: set[str] | None = None, require_answer: bool = True, alternation: bool = False) -> list[str]:
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
            if role not in CHAT_ROLES:
                meant = ROLE_ALIASES.get(role.strip().lower()) or _close(role.strip().lower(), CHAT_ROLES)
                rec.problems.append(Problem("unknown-role", mp + "/role", f"unknown role {role!r} (expected one of system, developer, user, assistant, tool)"
                                            + (f"; it means {meant!r}" if meant else ""), repair=(mp + "/role", meant) if meant else None))
                continue
            roles.append(role)
            kind = KIND_OF_ROLE[role]
            has_calls = "tool_calls" in m or "function_call" in m
            allowed = {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call", "refusal"}
            for k in m:
                if k not in allowed:
                    rec.problems.append(_unknown_key(m, k, allowed, mp, f"unrecognized key {k!r} in {article(str(role))} message"))
            if "content" not in m:
                if not (role == "assistant" and has_calls):
                    rec.problems.append(Problem("missing-key", mp, f"{role} message is missing 'content'"))
            else:
                c = m["content"]
                if isinstance(c, str):
                    rec.turns.append(Turn(role, c, mp + "/content", kind, "content", branch, i))
                elif c is None:
                    if not (role == "assistant" and has_calls):
                        rec.problems.append(Problem("wrong-type", mp + "/content", f"{role} message content is null"))
                elif isinstance(c, list) and c and all(isinstance(part, str) for part in c):
                    rec.turns.append(Turn(role, "\n".join(c), mp + "/content", kind, "content", branch, i))
                    rec.problems.append(Problem("wrong-type", mp + "/content", "content is an array of strings; it must be a string or an array of text parts (objects with type and text)",
                                                repair=(mp + "/content", "\n".join(c))))
                elif isinstance(c, list):
                    for j, part in enumerate(c):
                        pp = mp + f"/content/{j}"
                        if isinstance(part, dict) and isinstance(part.get("text"), str):
                            rec.turns.append(Turn(role, part["text"], pp + "/text", kind, "content", branch, i))
                        elif isinstance(part, dict) and part.get("type") in ("image_url", "input_audio", "file", "image"):
                            pass
                        elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("value"), str):
                            # LLaMA-Factory's v1 layout: still check the text, and say what to rename
                            rec.turns.append(Turn(role, part["value"], pp + "/value", kind, "content", branch, i))
                            rec.problems.append(Problem("wrong-type", pp + "/value", "text part holds its text in 'value' (LLaMA-Factory v1 layout); OpenAI chat expects 'text'"))
                        else:
                            rec.problems.append(Problem("wrong-type", pp, "content part must be an object with a string 'text' (or an image_url part)"))
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
            rec.problems.append(Problem("wrong-type", base + "/arguments", f"arguments must be a JSON string, got {_type_name(args)}"))
        elif isinstance(args, dict):
            rec.problems.append(Problem("wrong-type", base + "/arguments", "arguments must be a JSON-encoded string, got an object"))

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

    def _chat(self, rec: Record, obj: dict) -> None:
        allowed = {"messages", "tools", "functions", "parallel_tool_calls", "metadata"}
        if isinstance(obj.get("label"), bool):  # KTO (TRL, LLaMA-Factory): a desirable/undesirable label
            allowed.add("label")
        self._unknown_keys(rec, obj, allowed, "chat")
        tools = self._declared_tools(rec, obj)
        if self._present(rec, obj, "messages", "chat"):
            self._messages(rec, obj["messages"], "/messages", tools=tools, alternation=self.chat_alternation)

    # -- legacy prompt/completion --------------------------------------------
    def _prompt_completion(self, rec: Record, obj: dict) -> None:
        self._unknown_keys(rec, obj, {"prompt", "completion"}, "prompt-completion")
        self._text_field(rec, obj, "prompt", "user", "prompt", fmt="prompt-completion")
        self._text_field(rec, obj, "completion", "assistant", "answer", fmt="prompt-completion")

    # -- Alpaca ---------------------------------------------------------------
    def _alpaca(self, rec: Record, obj: dict) -> None:
        self._unknown_keys(rec, obj, {"instruction", "input", "output", "system", "history"}, "alpaca")
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
        if not isinstance(conv, list):
            rec.problems.append(Problem("wrong-type", base, f"'conversations' must be an array, got {_type_name(conv)}"))
            return []
        if not conv:
            rec.problems.append(Problem("empty-messages", base, "conversation is empty"))
            return []
        roles = []
        for i, m in enumerate(conv):
            mp = base + P(i)
            if not isinstance(m, dict):
                rec.problems.append(Problem("wrong-type", mp, f"turn must be an object, got {_type_name(m)}"))
                continue
            m = without_nulls(m, ("from", "value"))
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

    def _sharegpt(self, rec: Record, obj: dict) -> None:
        self._unknown_keys(rec, obj, {"conversations", "system", "tools", "id", "label"}, "sharegpt")
        self._text_field(rec, obj, "system", "system", "system", required=False)
        self._declared_tools(rec, obj)
        if self._present(rec, obj, "conversations", "sharegpt"):
            roles = self._sharegpt_list(rec, obj["conversations"], "/conversations")
            self._sharegpt_order(rec, roles, "/conversations", True)

    # -- preference pairs -----------------------------------------------------
    def _dpo(self, rec: Record, obj: dict) -> None:
        self._unknown_keys(rec, obj, {"input", "preferred_output", "non_preferred_output"}, "dpo")
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

    def _preference(self, rec: Record, obj: dict) -> None:
        allowed = {"prompt", "chosen", "rejected", "instruction", "input", "system", "history", "conversations", "messages", "tools", "id", "score_chosen", "score_rejected"}
        self._unknown_keys(rec, obj, allowed, "preference")
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

    @staticmethod
    def _same_pair(rec: Record, outs: dict, ptr: str) -> None:
        if len(outs) == 2 and outs["chosen"] == outs["rejected"]:
            rec.problems.append(Problem("dpo-identical", ptr, "the preferred and rejected answers are identical: the pair teaches nothing"))

    def _unknown(self, rec: Record, obj: dict) -> None:
        keys = ", ".join(str(k)[:40] for k in list(obj)[:6]) or "no keys"
        hint = ""
        for want in TOP_KEYS:
            k = near_miss(want, obj)
            if k is not None:
                hint = f" (found {k!r}: did you mean {want!r}?)"
                break
        rec.problems.append(Problem("unknown-format", "", f"record matches no known format (keys: {keys}){hint}; expected messages, prompt/completion, instruction/output, conversations or chosen/rejected"))


def resolve_format(name: str) -> str:
    name = name.lower()
    name = FORMAT_ALIASES.get(name, name)
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return name
