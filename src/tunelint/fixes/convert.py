"""Record format conversion for ``tunelint fix --to chat|prompt-completion``.

``--to chat`` turns Alpaca, ShareGPT and prompt/completion records into OpenAI chat records
(``{"messages": [...]}``); chat records pass through. Nothing is dropped: keys the target has
no place for (``id``, Alpaca extras) move to ``metadata``; ShareGPT tool calls become
``tool_calls`` with generated ids (``call_1``, ...) that the following ``observation`` turns
reference; an Alpaca ``input`` is appended to the instruction after ``input-separator``
(``[tool.tunelint.fix]``, default a blank line), unless it is a "no input" placeholder
(``<noinput>``, ``No input.``, ``N/A``: in a user turn it would become question text where
C002 no longer sees it). From legacy prompt/completion records the prompt's trailing
separator (``\n\n###\n\n``, `` ->``) and the completion's leading space and stop sequence
(`` END``, ``\n``, ``###``, ``</s>``) are removed: a chat template marks turns itself.

``--to prompt-completion`` converts only where it is lossless: one user turn and one answer,
no system prompt, history, input, tools or extra keys. Anything else raises
:class:`ConvertError`, and the fixer sends that record to the rejects file with the reason.
Preference pairs have no single-answer form and are never converted.
"""
from __future__ import annotations

import re
from typing import Any

import orjson

from ..formats import detect
from ..model.errors import UserError


class ConvertError(UserError, ValueError):
    pass


def convert(obj: Any, to: str, input_separator: str = "\n\n") -> Any:
    """Return ``obj`` itself when it is already in format ``to``, else a new record."""
    fmt = detect(obj)
    if fmt == to:
        return obj
    if fmt in ("dpo", "preference"):
        raise ConvertError(f"{fmt} records (preference pairs) have no {to} form")
    if fmt == "unknown":
        raise ConvertError("the record matches no known format")
    if to == "chat":
        conv = {"alpaca": _alpaca_to_chat, "sharegpt": _sharegpt_to_chat, "prompt-completion": _pc_to_chat}.get(fmt)
        if conv is None:
            raise ConvertError(f"{fmt} records do not convert to chat")
        return conv(obj, input_separator)
    if to == "prompt-completion":
        return _to_pc(obj, fmt)
    raise ConvertError(f"unknown target format {to!r}")


def _str(obj: dict, key: str, required: bool = True) -> str | None:
    v = obj.get(key)
    if v is None and not required and key not in obj:
        return None
    if not isinstance(v, str):
        raise ConvertError(f"{key!r} must be a string to convert, got {type(v).__name__ if key in obj else 'nothing'}")
    return v


def _finish(out: dict, obj: dict, used: set[str]) -> dict:
    extra = {k: v for k, v in obj.items() if k not in used}
    if "label" in extra and isinstance(extra["label"], bool):  # KTO label: chat keeps it
        out["label"] = extra.pop("label")
    if extra:
        meta = dict(obj["metadata"]) if isinstance(obj.get("metadata"), dict) else {}
        meta.update(extra)
        out["metadata"] = meta
    return out


# "no input" markers (compared without case, spacing and punctuation, as C002 does)
NO_INPUT = frozenset(("noinput", "no input", "noinputs", "no inputs", "no input required", "no input needed",
                      "no input necessary", "input not required", "no input provided", "none", "n a", "na",
                      "not applicable", "null", "nil", "empty", "blank", "no input required for this task"))
# The separator a prompt ends with and the stop sequence a completion ends with, cut from the
# right end in Python (the equivalent patterns, "\s*(?:###|...)?\s*\Z", were tried from every
# position and took quadratic time on long runs of blanks).
_PROMPT_SEPS = ("###", "-->", "->", "=>")
_STOPS = ("###", "</s>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>")


def _cut_prompt_sep(s: str) -> str:
    t = s.rstrip()
    for sep in _PROMPT_SEPS:
        if t.endswith(sep):
            return t[:-len(sep)].rstrip()
    return t


def _cut_stop(s: str) -> str:
    """``s`` without its trailing stop sequence and blanks; " END" counts unless it ends "THE END"."""
    t = s.rstrip()
    for stop in _STOPS:
        if t.endswith(stop):
            return t[:-len(stop)].rstrip()
    if t.endswith("END") and len(t) > 3 and t[-4].isspace():
        head = t[:-3].rstrip()
        the_end = head.endswith(("THE", "The")) and (len(head) == 3 or not (head[-4].isalnum() or head[-4] == "_"))
        if not the_end:
            return head
    return t


def _placeholder(s: str) -> bool:
    from ..checks.text import normalize_value

    return len(s) <= 40 and normalize_value(s) in NO_INPUT


def _alpaca_to_chat(obj: dict, sep: str) -> dict:
    msgs: list[dict] = []
    system = _str(obj, "system", required=False)
    if system:
        msgs.append({"role": "system", "content": system})
    hist = obj.get("history")
    if hist is not None:
        if not isinstance(hist, list):
            raise ConvertError("'history' must be a list of [instruction, response] pairs")
        for pair in hist:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise ConvertError("each history entry must be a [instruction, response] pair of strings")
            msgs.append({"role": "user", "content": pair[0]})
            msgs.append({"role": "assistant", "content": pair[1]})
    instruction = _str(obj, "instruction")
    inp = _str(obj, "input", required=False)
    user = instruction + sep + inp if inp and inp.strip() and not _placeholder(inp) else instruction
    msgs.append({"role": "user", "content": user})
    msgs.append({"role": "assistant", "content": _str(obj, "output")})
    return _finish({"messages": msgs}, obj, {"system", "history", "instruction", "input", "output"})


def _pc_to_chat(obj: dict, sep: str) -> dict:
    if isinstance(obj.get("prompt"), list) and isinstance(obj.get("completion"), list):  # TRL conversational
        return _finish({"messages": obj["prompt"] + obj["completion"]}, obj, {"prompt", "completion"})
    prompt, completion = _str(obj, "prompt"), _str(obj, "completion")
    prompt = _cut_prompt_sep(prompt)
    completion = _cut_stop(completion).lstrip()
    msgs = [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
    return _finish({"messages": msgs}, obj, {"prompt", "completion"})


def _tools(v: Any) -> list:
    if isinstance(v, str):
        try:
            v = orjson.loads(v) if v.strip() else []
        except orjson.JSONDecodeError:
            raise ConvertError("'tools' is a string that is not valid JSON") from None
    if not isinstance(v, list):
        raise ConvertError("'tools' must be a list")
    out = []
    for t in v:
        if isinstance(t, dict) and t.get("type") == "function" and isinstance(t.get("function"), dict):
            out.append(t)
        elif isinstance(t, dict):
            out.append({"type": "function", "function": t})
        else:
            raise ConvertError("each tool must be an object")
    return out


def _sharegpt_to_chat(obj: dict, sep: str) -> dict:
    conv = obj.get("conversations")
    if not isinstance(conv, list):
        raise ConvertError("'conversations' must be a list")
    msgs: list[dict] = []
    system = _str(obj, "system", required=False)
    if system:
        msgs.append({"role": "system", "content": system})
    pending: list[str] = []  # ids of tool calls awaiting their observation
    n_calls = 0
    for turn in conv:
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str) or not isinstance(turn.get("from"), str):
            raise ConvertError("each turn needs string 'from' and 'value'")
        frm, value = turn["from"], turn["value"]
        extra = set(turn) - {"from", "value", "weight", "loss"}
        if extra:
            raise ConvertError(f"turn has keys chat messages cannot hold: {', '.join(sorted(extra))}")
        if frm in ("human", "user"):
            m = {"role": "user", "content": value}
        elif frm in ("gpt", "assistant"):
            m = {"role": "assistant", "content": value}
        elif frm == "system":
            m = {"role": "system", "content": value}
        elif frm == "function_call":
            try:
                call = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise ConvertError("function_call value is not valid JSON") from None
            calls = call if isinstance(call, list) else [call]
            tcs = []
            for c in calls:
                if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                    raise ConvertError("function_call needs a 'name'")
                n_calls += 1
                cid = f"call_{n_calls}"
                pending.append(cid)
                args = c.get("arguments", {})
                tcs.append({"id": cid, "type": "function", "function": {
                    "name": c["name"], "arguments": args if isinstance(args, str) else orjson.dumps(args).decode()}})
            m = {"role": "assistant", "tool_calls": tcs}
        elif frm in ("observation", "tool"):
            m = {"role": "tool", "content": value}
            if pending:
                m["tool_call_id"] = pending.pop(0)
        else:
            raise ConvertError(f"unknown 'from' value {frm!r}")
        w = turn.get("weight", turn.get("loss"))
        if w is not None and m["role"] == "assistant":
            if isinstance(w, bool):
                w = int(w)
            m["weight"] = w
        msgs.append(m)
    out: dict = {"messages": msgs}
    if "tools" in obj:
        tools = _tools(obj["tools"])
        if tools:
            out["tools"] = tools
    return _finish(out, obj, {"conversations", "system", "tools"})


def _to_pc(obj: dict, fmt: str) -> dict:
    if fmt == "alpaca":
        if set(obj) - {"instruction", "input", "output"} or obj.get("input"):
            raise ConvertError("not lossless: only Alpaca records with an empty input and no system or history convert to prompt-completion")
        return {"prompt": _str(obj, "instruction"), "completion": _str(obj, "output")}
    if fmt == "chat":
        msgs = obj.get("messages")
        if (set(obj) != {"messages"} or not isinstance(msgs, list) or len(msgs) != 2
                or any(not isinstance(m, dict) or set(m) != {"role", "content"} or not isinstance(m["content"], str) for m in msgs)
                or [m["role"] for m in msgs] != ["user", "assistant"]):
            raise ConvertError("not lossless: only single-turn chats (one user message, one assistant message, nothing else) convert to prompt-completion")
        return {"prompt": msgs[0]["content"], "completion": msgs[1]["content"]}
    if fmt == "sharegpt":
        conv = obj.get("conversations")
        if (set(obj) != {"conversations"} or not isinstance(conv, list) or len(conv) != 2
                or any(not isinstance(t, dict) or set(t) != {"from", "value"} or not isinstance(t["value"], str) for t in conv)
                or [t["from"] for t in conv] not in (["human", "gpt"], ["user", "assistant"])):
            raise ConvertError("not lossless: only single-turn ShareGPT conversations convert to prompt-completion")
        return {"prompt": conv[0]["value"], "completion": conv[1]["value"]}
    raise ConvertError(f"{fmt} records do not convert to prompt-completion")
