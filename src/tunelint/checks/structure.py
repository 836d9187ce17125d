"""Conversation structure across formats (the ``conversation`` kind): who speaks first, the shape
of a preference pair, tool results and their calls, tool definitions, image parts.

The normalizer (formats.py) reports what is wrong with one key; these rules read a record's
conversations as a trainer assembles them (a DPO input with each answer, a TRL prompt with its
completion) and report what is wrong between messages. Each rule names one ``check``.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Iterator

import orjson

from ..diagnostic import Edit
from ..formats import P
from ..words import article
from .base import Finding, FixOffer, Param, RecordCheck, kind, strings

CHECKS = ("first-user", "pair-shape", "tool-results", "tool-definitions", "image-parts", "tool-argument-strings")
#: what a Gemini role is in chat terms
GEMINI = {"user": "user", "model": "assistant", "function": "tool"}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def _roles(msgs: list) -> list[str | None]:
    return [m.get("role") if isinstance(m, dict) and isinstance(m.get("role"), str) else None for m in msgs]


def _list(obj: dict, key: str) -> list | None:
    v = obj.get(key)
    return v if isinstance(v, list) else None


def conversations(rec) -> Iterator[tuple[list[str], list]]:
    """(pointer of each message, the messages) of every conversation the record trains on, in
    chat terms: a DPO input with each of its outputs, a TRL prompt with its completion or with
    each answer of its pair, a Gemini contents list with roles mapped (model -> assistant)."""
    obj, fmt = rec.obj, rec.format
    if not isinstance(obj, dict):
        return
    if fmt in ("chat", "rft", "claude", "bedrock"):
        msgs = _list(obj, "messages")
        if msgs is not None:
            yield [P("messages", i) for i in range(len(msgs))], msgs
    elif fmt == "gemini":
        cs = _list(obj, "contents")
        if cs is not None:
            yield ([P("contents", i) for i in range(len(cs))],
                   [{**c, "role": GEMINI.get(c.get("role"), c.get("role"))} if isinstance(c, dict) else c for c in cs])
    elif fmt == "dpo":
        inp = obj.get("input")
        base = _list(inp, "messages") if isinstance(inp, dict) else None
        for key in ("preferred_output", "non_preferred_output"):
            yield from _joined(obj, ("input", "messages"), base, key)
    elif fmt in ("preference", "prompt-completion", "kto", "prompt-only", "stepwise"):
        base = _list(obj, "prompt")
        answers = {"preference": ("chosen", "rejected"), "prompt-completion": ("completion",), "kto": ("completion",)}.get(fmt, ())
        if not answers and base is not None:
            yield [P("prompt", i) for i in range(len(base))], base
        for key in answers:
            yield from _joined(obj, ("prompt",), base, key)


def _plain(rec) -> bool:
    """A legacy prompt/completion (or KTO) record whose prompt and completion are strings and
    that offers no tools, functions or images: no conversation test can find anything in it (it
    has no messages), so the rules skip it without building its (empty) conversations."""
    obj = rec.obj
    return (rec.format in _LEGACY and isinstance(obj, dict)
            and not isinstance(obj.get("prompt"), list) and not isinstance(obj.get("completion"), list)
            and "tools" not in obj and "functions" not in obj and "images" not in obj)


_LEGACY = frozenset(("prompt-completion", "kto"))


def _joined(obj: dict, base_key: tuple, base: list | None, key: str):
    tail = _list(obj, key)
    if tail is None and base is None:
        return
    head = base or []
    yield ([P(*base_key, i) for i in range(len(head))] + [P(key, i) for i in range(len(tail or []))],
           head + (tail or []))


@kind("conversation")
class Conversation(RecordCheck):
    """One structural test between the messages of a record (``check``)."""

    defaults = {
        "check": Param("first-user", str, choices=CHECKS, doc="the structural test this rule runs"),
        "image-types": strings(list(IMAGE_TYPES), doc="media types an image data URL may have"),
    }

    def begin(self, ctx):
        self.run_test = self._test()  # the one test this rule runs, looked up once (a bound method: --jobs pickles it)

    def check_record(self, rec, ctx):
        if _plain(rec):
            return ()
        test = self.__dict__.get("run_test") or self._test()
        return test(rec, ctx)

    def _test(self):
        return getattr(self, "_" + self.p["check"].replace("-", "_"))

    # -- the first turn after the system prompt is the user's --------------------------
    def _first_user(self, rec, ctx):
        seen = set()
        for ptrs, msgs in conversations(rec):
            for ptr, m, role in zip(ptrs, msgs, _roles(msgs)):
                if role in ("system", "developer") or role is None:
                    continue
                if role != "user" and ptr not in seen:
                    seen.add(ptr)
                    yield Finding(pointer=ptr + "/role", message=f"the conversation opens with {article(role)} turn after the system prompt; the first turn must be the user's")
                break

    # -- one chosen and one rejected answer, after an input that waits for one ---------------
    def _pair_shape(self, rec, ctx):
        obj = rec.obj
        if not isinstance(obj, dict):
            return
        if rec.format == "dpo":
            inp = obj.get("input")
            head, head_ptr, outs = (_list(inp, "messages") if isinstance(inp, dict) else None), "/input/messages", ("preferred_output", "non_preferred_output")
        elif rec.format == "preference" and isinstance(obj.get("prompt"), list):
            head, head_ptr, outs = obj["prompt"], "/prompt", ("chosen", "rejected")
        else:
            return
        if head:
            last = _roles(head)[-1]
            if last == "assistant":
                yield Finding(pointer=f"{head_ptr}/{len(head) - 1}",
                              message="the pair's input ends with an assistant turn: the chosen and rejected answers would follow another answer")
        for key in outs:
            v = obj.get(key)
            if not isinstance(v, list):
                continue
            roles = _roles(v)
            if len(v) != 1 or roles[0] != "assistant":
                yield Finding(pointer=P(key), message=f"{key!r} must hold exactly one assistant message (the answer), found "
                              + (f"{len(v)} messages" if len(v) != 1 else f"{roles[0] or 'a message without a role'!s}"))

    # -- a tool result answers a call made before it -------------------------------------------
    def _tool_results(self, rec, ctx):
        for ptrs, msgs in conversations(rec):
            if rec.format == "gemini":
                yield from _gemini_results(ptrs, msgs)
                continue
            ids: set[str] = set()
            names: set[str] = set()
            calls = 0
            for ptr, m in zip(ptrs, msgs):
                if not isinstance(m, dict):
                    continue
                role = m.get("role")
                if role == "assistant":
                    for c in m.get("tool_calls") or ():
                        if isinstance(c, dict):
                            calls += 1
                            if isinstance(c.get("id"), str):
                                ids.add(c["id"])
                            fn = c.get("function")
                            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                                names.add(fn["name"])
                elif role == "tool":
                    tid = m.get("tool_call_id")
                    if not calls:
                        yield Finding(pointer=ptr, message="a tool message with no assistant tool call before it")
                    elif isinstance(tid, str):
                        if tid not in ids:
                            yield Finding(pointer=ptr + "/tool_call_id", message=f"tool_call_id {tid!r} matches no earlier assistant tool call"
                                          + (f" (ids: {', '.join(sorted(ids)[:5])})" if ids else " (the calls have no ids)"))
                    elif ids:
                        yield Finding(pointer=ptr, message="a tool message without 'tool_call_id' after tool calls that have ids")
                    elif isinstance(m.get("name"), str) and names and m["name"] not in names:
                        yield Finding(pointer=ptr + "/name", message=f"tool result for {m['name']!r}, which no earlier tool call names")

    # -- tool call arguments as the target wants them ---------------------------------------
    def _tool_argument_strings(self, rec, ctx):
        if getattr(ctx.target, "tool_arguments", None) != "string":
            return
        for ptrs, msgs in conversations(rec):
            for ptr, m in zip(ptrs, msgs):
                calls = m.get("tool_calls") if isinstance(m, dict) else None
                for j, c in enumerate(calls if isinstance(calls, list) else ()):
                    fn = c.get("function") if isinstance(c, dict) else None
                    if isinstance(fn, dict) and isinstance(fn.get("arguments"), dict):
                        yield Finding(pointer=f"{ptr}/tool_calls/{j}/function/arguments",
                                      message=f"target {ctx.target.name} wants tool call arguments as a JSON-encoded string, not an object",
                                      fix=FixOffer("encode the arguments as a JSON string",
                                              (Edit("set", f"{ptr}/tool_calls/{j}/function/arguments",
                                                    orjson.dumps(fn["arguments"]).decode()),)))

    # -- tool definitions -----------------------------------------------------------------------
    def _tool_definitions(self, rec, ctx):
        obj = rec.obj
        if not isinstance(obj, dict):
            return
        places = [("tools", obj.get("tools")), ("functions", obj.get("functions"))]
        if rec.format == "dpo" and isinstance(obj.get("input"), dict):
            places = [("input/tools", obj["input"].get("tools"))]
        for key, v in places:
            if isinstance(v, str):  # ShareGPT/LLaMA-Factory keep them as a JSON string
                try:
                    v = orjson.loads(v) if v.strip() else None
                except orjson.JSONDecodeError:
                    continue  # F004 reports it
                key_ptr = "/" + key
                in_string = True
            else:
                key_ptr, in_string = "/" + key, False
            if not isinstance(v, list):
                continue
            for i, t in enumerate(v):
                ptr = key_ptr if in_string else f"{key_ptr}/{i}"
                yield from _tool_definition(t, ptr, rec.format)

    # -- image parts ---------------------------------------------------------------------------
    def _image_parts(self, rec, ctx):
        allowed = ctx.target.images if ctx.config is not None else None
        n = 0
        for ptr, kind, part in _images(rec):
            n += 1
            if allowed is False:
                yield Finding(pointer=ptr, message=f"target {ctx.target.name} takes no images; this record has an image part")
                return
            yield from self._image(ptr, kind, part, allowed if isinstance(allowed, dict) else {})
        limit = allowed.get("max_count") if isinstance(allowed, dict) else None
        if limit and n > limit:
            yield Finding(message=f"{n} images in one example; target {ctx.target.name} takes at most {limit}")

    def _image(self, ptr: str, kind: str, part: Any, limits: dict):
        types = self.p["image-types"]
        if kind == "openai":
            iu = part.get("image_url")
            url = iu.get("url") if isinstance(iu, dict) else iu
            if not isinstance(url, str) or not url:
                yield Finding(pointer=ptr, message="an image_url part needs 'image_url': {\"url\": ...}")
                return
            yield from self._url(ptr + ("/image_url/url" if isinstance(iu, dict) else "/image_url"), url, types, limits)
        elif kind == "column":
            if isinstance(part, str):
                if part.startswith("data:"):
                    yield from self._url(ptr, part, types, limits)
            elif not (isinstance(part, dict) and (part.get("bytes") or part.get("path"))):
                yield Finding(pointer=ptr, message="an image must be a path, a URL or an object with 'bytes' or 'path'")
        elif kind == "gemini":
            mime = part.get("mimeType") or part.get("mime_type")
            if not isinstance(mime, str) or not (part.get("data") or part.get("fileUri") or part.get("file_uri")):
                yield Finding(pointer=ptr, message="an inlineData/fileData part needs 'mimeType' and 'data' (or 'fileUri')")
            elif mime.startswith("image/") and mime not in types:
                yield Finding(pointer=ptr + "/mimeType", message=f"image type {mime!r} is not one of {', '.join(types)}")
        elif kind == "bedrock":
            fmt = part.get("format")
            src = part.get("source")
            if fmt not in ("png", "jpeg", "gif", "webp") or not isinstance(src, dict) or not (src.get("bytes") or src.get("s3Location")):
                yield Finding(pointer=ptr, message="a Bedrock image block needs 'format' (png, jpeg, gif, webp) and a 'source' with 'bytes' or 's3Location'")

    def _url(self, ptr: str, url: str, types, limits: dict):
        if url.startswith("data:"):
            head, sep, data = url.partition(",")
            mime = head[5:].split(";")[0]
            if not sep or ";base64" not in head:
                yield Finding(pointer=ptr, message="an image data URL must be data:<type>;base64,<data>")
            elif mime not in types:
                yield Finding(pointer=ptr, message=f"image data URL of type {mime or 'none'!r}; allowed: {', '.join(types)}")
            else:
                size = len(data) * 3 // 4  # what the base64 decodes to, near enough
                try:
                    base64.b64decode(data[:64], validate=True)  # the head only: a broken encoding shows at once
                except (binascii.Error, ValueError):
                    yield Finding(pointer=ptr, message="the image data URL's base64 data does not decode")
                    return
                most = limits.get("max_bytes")
                if most and size > most:
                    yield Finding(pointer=ptr, message=f"image of about {size:,} bytes; the target takes at most {most:,}")
        elif not url.startswith(("https://", "http://")):
            yield Finding(pointer=ptr, message=f"image URL {url[:40]!r} is neither an http(s) URL nor a data URL")


def _tool_definition(t: Any, ptr: str, fmt: str):
    if fmt == "gemini":
        decls = t.get("functionDeclarations", t.get("function_declarations")) if isinstance(t, dict) else None
        for j, d in enumerate(decls if isinstance(decls, list) else ()):
            yield from _function(d, f"{ptr}/functionDeclarations/{j}", need_parameters=False)
        return
    if not isinstance(t, dict):
        yield Finding(pointer=ptr, message="a tool definition must be an object")
        return
    fn = t.get("function") if isinstance(t.get("function"), dict) else t
    yield from _function(fn, ptr + ("/function" if fn is not t else ""), need_parameters=True)


def _function(fn: Any, ptr: str, need_parameters: bool):
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"].strip():
        yield Finding(pointer=ptr, message="a tool definition needs a non-empty string 'name'")
        return
    params = fn.get("parameters")
    if params is None:
        if need_parameters:
            yield Finding(pointer=ptr, message=f"tool {fn['name']!r} has no 'parameters' (a JSON schema; {{\"type\": \"object\", \"properties\": {{}}}} for none)")
    elif not isinstance(params, dict) or params.get("type", "object") != "object":
        yield Finding(pointer=ptr + "/parameters", message=f"tool {fn['name']!r}: 'parameters' must be a JSON schema of type object")


def _gemini_results(ptrs: list[str], msgs: list):
    called: set[str] = set()
    for ptr, c in zip(ptrs, msgs):
        parts = c.get("parts") if isinstance(c, dict) else None
        for j, part in enumerate(parts if isinstance(parts, list) else ()):
            if not isinstance(part, dict):
                continue
            fc, fr = part.get("functionCall"), part.get("functionResponse")
            if isinstance(fc, dict) and isinstance(fc.get("name"), str):
                called.add(fc["name"])
            elif isinstance(fr, dict):
                name = fr.get("name")
                if name not in called:
                    yield Finding(pointer=f"{ptr}/parts/{j}/functionResponse",
                                  message=f"functionResponse for {name!r}, which no earlier functionCall names")


def _images(rec) -> Iterator[tuple[str, str, Any]]:
    """(pointer, kind, value) of every image a record carries."""
    obj = rec.obj
    if not isinstance(obj, dict):
        return
    imgs = obj.get("images")
    if isinstance(imgs, list):
        for i, im in enumerate(imgs):
            yield f"/images/{i}", "column", im
    for ptrs, msgs in conversations(rec):
        for ptr, m in zip(ptrs, msgs):
            if not isinstance(m, dict):
                continue
            parts = m.get("parts") if rec.format == "gemini" else m.get("content")
            for j, part in enumerate(parts if isinstance(parts, list) else ()):
                if not isinstance(part, dict):
                    continue
                where = f"{ptr}/{'parts' if rec.format == 'gemini' else 'content'}/{j}"
                if part.get("type") == "image_url":
                    yield where, "openai", part
                elif isinstance(part.get("inlineData"), dict):
                    yield where + "/inlineData", "gemini", part["inlineData"]
                elif isinstance(part.get("fileData"), dict):
                    yield where + "/fileData", "gemini", part["fileData"]
                elif "type" not in part and isinstance(part.get("image"), dict):
                    yield where + "/image", "bedrock", part["image"]
