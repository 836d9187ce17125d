"""What the trainer sees: a model's own tokenizer and chat template, offline.

API (importing this module imports neither ``tokenizers`` nor ``jinja2``)::

    load(spec, chat_template=None) -> ChatModel     # cached per process
    conversations(rec) -> list[Conversation]        # what a trainer renders for the record
    view(rec, model) -> View                        # rendering, counts, trainable spans (lazy)
    count_record(rec, model) -> int                 # tokens of the longest rendered sequence
    exceeds(rec, model, limit) -> int | None        # exact count when over ``limit``, else None

``spec`` is a model folder (``tokenizer.json`` + ``tokenizer_config.json``), a ``tokenizer.json``
file, ``builtin:qwen2.5`` / ``builtin:qwen3`` (Qwen's vocabulary shipped in ``data/``, sha256
checked, with Qwen's chat template), or ``mistral:NAME`` (a tokenizer file shipped inside the
``mistral-common`` package, encoded with its own chat encoding; the ``[mistral]`` extra).
Nothing is ever downloaded.

Rendering follows ``transformers``' ``apply_chat_template`` (``render_jinja_template``): an
``ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`` with the loop-controls
extension and a no-op ``{% generation %}`` tag, ``tojson`` without HTML escaping,
``raise_exception``, ``strftime_now``, keys whose value is ``None`` dropped from messages,
reasoning fields aliased, the tokenizer's named special tokens (``bos_token``, ``eos_token``...)
passed to the template, and the result encoded without adding special tokens. A test compares
counts with ``transformers`` itself, token for token.

What a record becomes (``conversations``): chat records are their ``messages`` (+ ``tools``);
OpenAI DPO records are ``input.messages`` + each output; every other format is built from the
record's normalized turns (an Alpaca ``input`` joins its instruction with a newline, as
LLaMA-Factory does; ShareGPT ``function_call`` turns become assistant tool calls and
``observation`` turns tool messages); preference pairs give one conversation per answer. Legacy
prompt/completion records are not chat: they are the text ``prompt + completion`` plus the EOS
token TRL appends. The trainable tokens are the assistant turns' (prompt tokens are masked, as
TRL's completion-only loss, LLaMA-Factory and Axolotl's ``roles_to_train`` do).

Why skipping is exact. A byte-level BPE token (Qwen, Llama 3, Mistral Tekken, GPT-style
``tokenizer.json`` files with an NFC or no normalizer) covers at least one byte of the text it
encodes, so ``tokens(text) <= utf8_len(nfc(text))`` (+1 when the pre-tokenizer adds a prefix
space). ``View.bound`` is that number for the rendered sequence; a record whose bound is within
the limit is never encoded. Tokenizers without that guarantee (other normalizers, SentencePiece
models) have no bound and are always encoded.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model.errors import RuleError

if TYPE_CHECKING:  # pragma: no cover
    from .formats import Record

EXTRA_HINT = "pip install 'tunelint[hf]'"

#: sha256 of the decompressed shipped Qwen vocabulary (see data/qwen.LICENSE.txt)
QWEN_HASH = "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186"
QWEN_PAT = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
            r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
_QWEN25_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                   "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                   "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
                   "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
                   "<|repo_name|>", "<|file_sep|>")
_QWEN3_SPECIAL = _QWEN25_SPECIAL + ("<tool_response>", "</tool_response>", "<think>", "</think>")
#: builtin tokenizers: (vocabulary, special tokens, template file, eos token)
BUILTIN = {
    "qwen2.5": ("qwen", _QWEN25_SPECIAL, "qwen2.5.jinja", "<|im_end|>"),
    "qwen3": ("qwen", _QWEN3_SPECIAL, "qwen3.jinja", "<|im_end|>"),
}
SPECIAL_ATTRS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


class TokenizerError(RuleError):
    """A tokenizer or chat template cannot be loaded (exit 2, one line naming the file)."""


class TemplateFailure(Exception):
    """The chat template raised on a record (the template's own message)."""


def _need(module: str, extra: str = "hf"):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        hint = EXTRA_HINT if extra == "hf" else f"pip install 'tunelint[{extra}]'"
        raise TokenizerError(f"--tokenizer needs the optional package {module.split('.')[0]!r}: {hint}") from None


# -- the jinja environment, as transformers builds it ---------------------------------------------

_env_lock = threading.Lock()
_compiled: dict[str, Any] = {}


def compile_template(source: str):
    """``source`` compiled the way transformers' ``_compile_jinja_template`` compiles it."""
    tpl = _compiled.get(source)
    if tpl is not None:
        return tpl
    jinja2 = _need("jinja2")
    import jinja2.ext
    import jinja2.nodes
    import jinja2.sandbox
    import jinja2.utils

    class Generation(jinja2.ext.Extension):
        """``{% generation %}...{% endgeneration %}`` renders its body (transformers' tracker, off)."""

        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        from datetime import datetime

        return datetime.now().strftime(fmt)

    class TemplateDict:
        def __call__(self, *args, **kwargs):
            return dict(*args, **kwargs)

        def fromkeys(self, *args, **kwargs):
            return dict.fromkeys(*args, **kwargs)

    class TemplateNamespace(jinja2.utils.Namespace):
        def __init__(*args, **kwargs):  # noqa: N805 (jinja's own signature trick)
            self, args = args[0], args[1:]
            attrs = dict(*args, **kwargs)
            for name in attrs:
                TemplateNamespace._check(name)
            jinja2.utils.Namespace.__init__(self, attrs)

        def __setitem__(self, name, value):
            TemplateNamespace._check(name)
            jinja2.utils.Namespace.__setitem__(self, name, value)

        @staticmethod
        def _check(name):
            if isinstance(name, str) and name.startswith("_"):
                raise jinja2.exceptions.SecurityError(f"chat templates cannot store underscore-prefixed attributes, got {name!r}")

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = TemplateDict()
    env.globals["namespace"] = TemplateNamespace
    with _env_lock:
        tpl = _compiled[source] = env.from_string(source)
    return tpl


_REASONING = ("reasoning_content", "thinking", "reasoning")


def _plain(messages: list) -> list:
    """transformers' message normalization: None-valued keys dropped, reasoning fields aliased."""
    out = []
    for m in messages:
        if isinstance(m, dict):
            m = {k: v for k, v in m.items() if v is not None}
            r = next((m[k] for k in _REASONING if m.get(k) is not None), None)
            if r is not None:
                m = {"thinking": r, **m, "reasoning_content": r}
        out.append(m)
    return out


# -- encoders ------------------------------------------------------------------------------------


class _HFEncoder:
    def __init__(self, tok, spec: dict):
        self.tok = tok
        self._bound_ok, self._prefix = self._byte_bounded(spec)

    @staticmethod
    def _byte_bounded(spec: dict) -> tuple[bool, int]:
        """(every token covers >= 1 byte of NFC text, extra tokens a prefix space may add)."""
        norm = spec.get("normalizer")
        kinds = []

        def walk(n):
            if isinstance(n, dict):
                if n.get("type") == "Sequence":
                    for x in n.get("normalizers") or n.get("pretokenizers") or []:
                        walk(x)
                else:
                    kinds.append(n.get("type"))

        walk(norm)
        if any(k not in ("NFC",) for k in kinds):
            return False, 0
        model = spec.get("model") or {}
        if model.get("type") != "BPE" and model.get("type") != "WordLevel":
            return False, 0
        pre = spec.get("pre_tokenizer")
        pres: list[dict] = []

        def walk_pre(n):
            if isinstance(n, dict):
                if n.get("type") == "Sequence":
                    for x in n.get("pretokenizers") or []:
                        walk_pre(x)
                else:
                    pres.append(n)

        walk_pre(pre)
        byte_level = any(p.get("type") == "ByteLevel" for p in pres)
        if model.get("type") == "BPE" and not byte_level:
            return False, 0  # e.g. SentencePiece-style BPE with byte fallback: a byte may take a token of its own
        allowed = {"ByteLevel", "Split", "Digits", "Punctuation", "Whitespace", "WhitespaceSplit"}
        if any(p.get("type") not in allowed for p in pres):
            return False, 0
        prefix = int(any(p.get("type") == "ByteLevel" and p.get("add_prefix_space") for p in pres))
        return True, prefix

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def bound(self, text: str) -> int | None:
        if not self._bound_ok:
            return None
        if not text.isascii():
            import unicodedata

            if not unicodedata.is_normalized("NFC", text):
                text = unicodedata.normalize("NFC", text)
            return len(text.encode("utf-8", "surrogatepass")) + self._prefix
        return len(text) + self._prefix


class _TiktokenEncoder:
    """A shipped byte-level BPE (Qwen's) with its special tokens and NFC normalization."""

    def __init__(self, enc):
        self.enc = enc

    def encode(self, text: str) -> list[int]:
        import unicodedata

        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        from .bpe import encode_linear

        return encode_linear(self._encode, text)

    def _encode(self, text: str) -> list[int]:
        return self.enc.encode(text, allowed_special="all")

    def bound(self, text: str) -> int | None:
        if text.isascii():
            return len(text)
        import unicodedata

        return len(unicodedata.normalize("NFC", text).encode("utf-8", "surrogatepass"))


class _MistralEncoder:
    """Plain text through mistral-common's own tokenizer (no BOS/EOS); no cheap bound."""

    def __init__(self, mt):
        self.tok = mt.instruct_tokenizer.tokenizer

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, bos=False, eos=False)

    def bound(self, text: str) -> int | None:
        return None


# -- the model -----------------------------------------------------------------------------------


@dataclass
class ChatModel:
    name: str
    encoder: Any
    template: str | None  # jinja source; None: no chat template (plain text only)
    specials: dict[str, str] = field(default_factory=dict)  # bos_token/eos_token... -> string
    source: str = ""
    special_strings: tuple[str, ...] = ()  # every added/special token string (split points)
    mistral: Any = None  # a mistral_common MistralTokenizer (its own chat encoding), finetuning mode
    mistral_prompt: Any = None  # the same in test mode (a conversation ending with a user turn)
    tail_ids: dict = field(default_factory=dict)  # generation-prompt tails -> ids (prefix check)

    @property
    def eos(self) -> str | None:
        return self.specials.get("eos_token")

    def render(self, messages: list, tools: list | None = None, add_generation_prompt: bool = False) -> str:
        """The template's text; :class:`TemplateFailure` with the template's message on error."""
        if self.mistral is not None:
            return _mistral_render(self, messages, tools, add_generation_prompt)
        if self.template is None:  # a setup error, not the record's: exit 2 with one line
            raise TokenizerError(f"{self.source} has no chat template (no 'chat_template' in tokenizer_config.json, "
                                 "no chat_template.jinja); pass --chat-template FILE")
        tpl = compile_template(self.template)
        import jinja2

        try:
            return tpl.render(messages=_plain(messages), tools=tools, documents=None,
                              add_generation_prompt=add_generation_prompt, **self.specials)
        except jinja2.exceptions.TemplateError as e:
            raise TemplateFailure(str(e) or type(e).__name__) from None
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, ZeroDivisionError, OverflowError,
                RecursionError) as e:
            raise TemplateFailure(f"{type(e).__name__}: {e}") from None

    def encode(self, text: str) -> list[int]:
        ids = getattr(text, "ids", None)
        return list(ids) if ids is not None else self.encoder.encode(text)

    def count_text(self, text: str) -> int:
        """Tokens of plain text (no template), special-token strings included as the tokenizer sees them."""
        return len(self.encoder.encode(text)) if text else 0

    def count(self, text: str) -> int:
        ids = getattr(text, "ids", None)
        return len(ids) if ids is not None else len(self.encoder.encode(text))

    def bound(self, text: str) -> int | None:
        if getattr(text, "ids", None) is not None:
            return len(text.ids)
        return self.encoder.bound(text)


class _Rendered(str):
    """A rendering that already has its token ids (Mistral's own chat encoding)."""

    ids: list[int]


_models: dict[tuple, ChatModel] = {}
_lock = threading.Lock()


def load(spec: str, chat_template: str | None = None) -> ChatModel:
    """The tokenizer named by ``spec`` (see the module doc), loaded once per process."""
    key = (spec, chat_template)
    m = _models.get(key)
    if m is None:
        with _lock:
            m = _models.get(key)
            if m is None:
                m = _models[key] = _load(spec, chat_template)
    return m


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise TokenizerError(f"{path}: cannot read the {what}: {getattr(e, 'strerror', None) or e}") from None


def _template_file(path: str) -> str:
    text = _read_text(path, "chat template")
    if path.endswith(".json"):  # a tokenizer_config.json or {"chat_template": ...}
        try:
            text = _pick_template(json.loads(text), path)
        except ValueError as e:
            raise TokenizerError(f"{path}: invalid JSON: {e}") from None
        if text is None:
            raise TokenizerError(f"{path}: no 'chat_template' in this JSON file")
    return text


def _pick_template(cfg: dict, where: str) -> str | None:
    t = cfg.get("chat_template") if isinstance(cfg, dict) else None
    if isinstance(t, list):  # named templates: transformers uses "default" without a name
        named = {d.get("name"): d.get("template") for d in t if isinstance(d, dict)}
        t = named.get("default")
    if t is not None and not isinstance(t, str):
        raise TokenizerError(f"{where}: 'chat_template' must be a string")
    return t


def _token_str(v: Any) -> str | None:
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and isinstance(v.get("content"), str):  # AddedToken as saved by transformers
        return v["content"]
    return None


def _load(spec: str, chat_template: str | None) -> ChatModel:
    if spec.startswith("builtin:"):
        model = _load_builtin(spec[len("builtin:"):])
    elif spec.startswith("mistral:"):
        model = _load_mistral(spec[len("mistral:"):])
    else:
        model = _load_hf(spec)
    if chat_template:
        model.template = _template_file(chat_template)
        model.source += f" + {chat_template}"
    if model.template is not None and model.mistral is None:
        try:
            compile_template(model.template)
        except TokenizerError:
            raise
        except Exception as e:  # a jinja syntax error: the file and the line
            raise TokenizerError(f"{chat_template or model.source}: the chat template does not compile: {e}") from None
    return model


def _load_hf(path: str) -> ChatModel:
    p = Path(path)
    if not p.exists():
        raise TokenizerError(f"{path}: no such tokenizer file or folder (give a model folder with tokenizer.json, or a tokenizer.json file)")
    if p.is_dir():
        tj = p / "tokenizer.json"
        if not tj.is_file():
            raise TokenizerError(f"{path}: no tokenizer.json in this folder (tunelint reads tokenizer.json with the "
                                 "'tokenizers' library; slow-tokenizer-only models need converting first)")
        cfg_path = p / "tokenizer_config.json"
    else:
        tj = p
        cfg_path = p.with_name("tokenizer_config.json")
    tokenizers = _need("tokenizers")
    try:
        with open(tj, "rb") as f:
            raw = f.read()
        tok = tokenizers.Tokenizer.from_str(raw.decode("utf-8"))
    except OSError as e:
        raise TokenizerError(f"{tj}: cannot read: {e.strerror}") from None
    except Exception as e:  # the Rust loader raises a plain Exception on a bad file
        raise TokenizerError(f"{tj}: not a tokenizer.json the 'tokenizers' library can read: {e}") from None
    import orjson

    spec = orjson.loads(raw)
    del raw
    cfg: dict = {}
    if cfg_path.is_file():
        try:
            cfg = json.loads(_read_text(str(cfg_path), "tokenizer config"))
        except ValueError as e:
            raise TokenizerError(f"{cfg_path}: invalid JSON: {e}") from None
        if not isinstance(cfg, dict):
            raise TokenizerError(f"{cfg_path}: must be a JSON object")
    template = _pick_template(cfg, str(cfg_path))
    jt = (p if p.is_dir() else p.parent) / "chat_template.jinja"  # newer transformers save it apart
    if template is None and jt.is_file():
        template = _read_text(str(jt), "chat template")
    # added tokens declared only in tokenizer_config.json (transformers adds them at load)
    extra = []
    for _id, d in sorted((cfg.get("added_tokens_decoder") or {}).items(), key=lambda x: int(x[0]) if str(x[0]).isdigit() else 0):
        s = _token_str(d)
        if s and tok.token_to_id(s) is None:
            extra.append(tokenizers.AddedToken(s, special=bool(d.get("special", True)), normalized=False))
    if extra:
        tok.add_special_tokens(extra)
    specials = {a: s for a in SPECIAL_ATTRS if (s := _token_str(cfg.get(a))) is not None}
    added = tuple(t.content for t in tok.get_added_tokens_decoder().values()) if hasattr(tok, "get_added_tokens_decoder") else ()
    return ChatModel(name=p.name if p.is_dir() else p.parent.name or p.name, encoder=_HFEncoder(tok, spec),
                     template=template, specials=specials, source=str(path), special_strings=added)


def _data(name: str) -> str:
    return str(Path(__file__).resolve().parent / "data" / name)


def _load_builtin(name: str) -> ChatModel:
    if name not in BUILTIN:
        raise TokenizerError(f"unknown built-in tokenizer {name!r}; tunelint ships {', '.join('builtin:' + b for b in BUILTIN)}")
    vocab, special, tpl, eos = BUILTIN[name]
    import tiktoken

    from .bpe import load_ranks

    ranks = _qwen_ranks(load_ranks) if vocab == "qwen" else None
    base = len(ranks)
    enc = tiktoken.Encoding(f"tunelint-{name}", pat_str=QWEN_PAT, mergeable_ranks=ranks,
                            special_tokens={s: base + i for i, s in enumerate(special)})
    return ChatModel(name=name, encoder=_TiktokenEncoder(enc), template=_read_text(_data(tpl), "chat template"),
                     specials={"eos_token": eos, "pad_token": "<|endoftext|>"}, source=f"builtin:{name}",
                     special_strings=special)


_ranks_cache: dict[str, dict] = {}


def _qwen_ranks(load_ranks) -> dict:
    r = _ranks_cache.get("qwen")
    if r is None:
        r = _ranks_cache["qwen"] = load_ranks(_data("qwen.tiktoken.gz"), QWEN_HASH)
    return r


def _load_mistral(name: str) -> ChatModel:
    _need("mistral_common", "mistral")
    from mistral_common.protocol.instruct.validator import ValidationMode
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    import mistral_common

    data = Path(mistral_common.__file__).resolve().parent / "data"
    avail = sorted(f.name for f in data.iterdir() if f.is_file() and ("tokenizer" in f.name or "tekken" in f.name))
    path = data / name
    if name not in avail:
        raise TokenizerError(f"mistral:{name}: not a tokenizer file of the installed mistral-common; available: {', '.join(avail)}")
    try:
        mt = MistralTokenizer.from_file(str(path), mode=ValidationMode.finetuning)
        mp = MistralTokenizer.from_file(str(path), mode=ValidationMode.test)
    except Exception as e:
        raise TokenizerError(f"mistral:{name}: mistral-common cannot load it: {e}") from None
    return ChatModel(name=f"mistral:{name}", encoder=_MistralEncoder(mt), template=None, source=f"mistral:{name}", mistral=mt,
                     mistral_prompt=mp, specials={})


def _mistral_render(model: ChatModel, messages: list, tools: list | None, agp: bool) -> str:
    from mistral_common.protocol.instruct.request import ChatCompletionRequest

    msgs = _plain(messages)
    try:
        req = ChatCompletionRequest(messages=msgs, tools=tools or None)
        # a prompt (add_generation_prompt) ends with a user or tool turn: the serving-side encoder
        tokenized = (model.mistral_prompt if agp else model.mistral).encode_chat_completion(req)
    except Exception as e:  # pydantic validation or mistral-common's own structure checks
        msg = str(e).strip().splitlines()
        raise TemplateFailure(f"mistral-common: {msg[0] if msg else type(e).__name__}") from None
    out = _Rendered(tokenized.text or "")
    out.ids = list(tokenized.tokens)
    return out


# -- records -> conversations --------------------------------------------------------------------


@dataclass
class Conversation:
    branch: str  # "" or chosen/rejected
    messages: list | None  # None: plain text (legacy prompt/completion)
    tools: list | None = None
    prompt_text: str = ""  # plain text only
    answer_text: str = ""
    origin: list | None = None  # JSON pointer of each message in the record (None: not known)


def _tools(v: Any) -> list | None:
    if isinstance(v, str):
        try:
            v = json.loads(v) if v.strip() else None
        except ValueError:
            return None
    return v if isinstance(v, list) and v else None


def _call(text: str) -> list | None:
    try:
        v = json.loads(text)
    except ValueError:
        return None
    calls = v if isinstance(v, list) else [v]
    out = []
    for c in calls:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            return None
        out.append({"type": "function", "function": {"name": c["name"], "arguments": c.get("arguments", {})}})
    return out


def conversations(rec: "Record") -> list[Conversation]:
    obj = rec.obj
    if not isinstance(obj, dict):
        return []
    fmt = rec.format
    if fmt == "prompt-completion":
        p, c = obj.get("prompt"), obj.get("completion")
        if isinstance(p, str) and isinstance(c, str):
            return [Conversation("", None, prompt_text=p, answer_text=c)]
        return []
    if fmt == "chat":
        msgs = obj.get("messages")
        if not isinstance(msgs, list):
            return []
        tools = _tools(obj.get("tools"))
        if tools is None and _tools(obj.get("functions")):
            tools = [{"type": "function", "function": f} for f in obj["functions"]]
        return [Conversation("", list(msgs), tools, origin=[f"/messages/{i}" for i in range(len(msgs))])]
    if fmt == "dpo":
        inp = obj.get("input") if isinstance(obj.get("input"), dict) else {}
        base = inp.get("messages") if isinstance(inp.get("messages"), list) else []
        out = []
        for key, branch in (("preferred_output", "chosen"), ("non_preferred_output", "rejected")):
            if isinstance(obj.get(key), list):
                origin = [f"/input/messages/{i}" for i in range(len(base))] + [f"/{key}/{i}" for i in range(len(obj[key]))]
                out.append(Conversation(branch, list(base) + list(obj[key]), _tools(inp.get("tools")), origin=origin))
        return out
    shared: list[dict] = []
    branches: dict[str, list[dict]] = {}
    origins: dict[str, list[str]] = {"": []}
    for t in rec.turns:
        if t.text is None:
            continue
        msgs = branches.setdefault(t.branch, []) if t.branch else shared
        where = origins.setdefault(t.branch, [])
        if t.kind == "input":
            if msgs and msgs[-1]["role"] == "user":
                msgs[-1] = {"role": "user", "content": f"{msgs[-1]['content']}\n{t.text}" if t.text else msgs[-1]["content"]}
            else:
                msgs.append({"role": "user", "content": t.text})
                where.append(t.pointer)
            continue
        where.append(t.pointer)
        role = t.role
        if role == "tool_call":
            calls = _call(t.text)
            msgs.append({"role": "assistant", "content": "", "tool_calls": calls} if calls else {"role": "assistant", "content": t.text})
            continue
        if role == "developer":
            role = "system"
        msgs.append({"role": role, "content": t.text})
    tools = _tools(obj.get("tools"))
    if not branches:
        return [Conversation("", shared, tools, origin=origins[""])]
    return [Conversation(b, shared + m, tools, origin=origins[""] + origins.get(b, [])) for b, m in branches.items()]


# -- the trainer's view of one record ------------------------------------------------------------


@dataclass
class Side:
    """One rendered sequence (a conversation) with lazily computed counts and answer spans."""

    conv: Conversation
    text: str
    model: ChatModel
    _n: int | None = None
    _spans: list | None = None

    def bound(self) -> int | None:
        b = self.model.bound(self.text)
        if b is not None and self.conv.messages is None and self.model.eos:
            b += 1
        return b

    def count(self) -> int:
        if self._n is None:
            self._n = self.model.count(self.text) + (1 if self.conv.messages is None and self.model.eos else 0)
        return self._n

    def spans(self) -> list[tuple[int, int, int]]:
        """(message index, first token, end token) of every trainable (assistant) part."""
        if self._spans is None:
            m = self.model
            if self.conv.messages is None:
                p = m.count(self.conv.prompt_text)
                self._spans = [(-1, p, self.count())]
            else:
                out = []
                msgs = self.conv.messages
                for i, msg in enumerate(msgs):
                    if not (isinstance(msg, dict) and msg.get("role") == "assistant"):
                        continue
                    try:
                        start = m.count(m.render(msgs[:i], self.conv.tools, add_generation_prompt=True))
                        end = m.count(m.render(msgs[:i + 1], self.conv.tools)) if i + 1 < len(msgs) else self.count()
                    except TemplateFailure:
                        continue
                    out.append((i, start, max(start, end)))
                self._spans = out
        return self._spans


@dataclass
class View:
    sides: list[Side]
    error: str | None = None  # the template's message when rendering failed
    error_branch: str = ""

    def longest(self) -> Side | None:
        """The side with the most tokens (encoding only what the bounds cannot settle)."""
        if not self.sides:
            return None
        if len(self.sides) == 1:
            return self.sides[0]
        return max(self.sides, key=lambda s: s.count())

    def bound(self) -> int | None:
        bs = [s.bound() for s in self.sides]
        return None if any(b is None for b in bs) else max(bs, default=0)


_last: list = [None, None, None]  # record, model, view: checks of one record share its view
_last_lock = threading.Lock()


def view(rec: "Record", model: ChatModel) -> View:
    if _last[0] is rec and _last[1] is model:
        return _last[2]
    sides: list[Side] = []
    error = None
    branch = ""
    for conv in conversations(rec):
        if conv.messages is None:
            sides.append(Side(conv, conv.prompt_text + conv.answer_text, model))
            continue
        try:
            sides.append(Side(conv, model.render(conv.messages, conv.tools), model))
        except TemplateFailure as e:
            error, branch = str(e), conv.branch
            break
    v = View(sides if error is None else [], error, branch)
    with _last_lock:
        _last[0], _last[1], _last[2] = rec, model, v
    return v


def count_record(rec: "Record", model: ChatModel) -> int:
    s = view(rec, model).longest()
    return s.count() if s is not None else 0


def exceeds(rec: "Record", model: ChatModel, limit: int) -> int | None:
    v = view(rec, model)
    b = v.bound()
    if b is not None and b <= limit:
        return None
    s = v.longest()
    if s is None:
        return None
    n = s.count()
    return n if n > limit else None


#: characters of the answer encoded after the prompt's tail by the token-level prefix check
SEAM = 256


def prefix_problem(side: Side) -> str | None:
    """Why the rendered prompt of the last answer is not a prefix of the rendered conversation
    (text, or tokens at the seam), or None. The prompt is the conversation before the last
    assistant turn rendered with ``add_generation_prompt``, as TRL builds prompt/completion pairs."""
    msgs = side.conv.messages
    m = side.model
    if msgs is None:
        p, full = side.conv.prompt_text, side.text
    else:
        last = max((i for i, x in enumerate(msgs) if isinstance(x, dict) and x.get("role") == "assistant"), default=-1)
        if last <= 0:
            return None
        try:
            p = m.render(msgs[:last], side.conv.tools, add_generation_prompt=True)
            full = side.text if last == len(msgs) - 1 else m.render(msgs[:last + 1], side.conv.tools)
        except TemplateFailure:
            return None
    if getattr(p, "ids", None) is not None:
        ids_p, ids_f = p.ids, full.ids if getattr(full, "ids", None) is not None else m.encode(full)
        if ids_f[:len(ids_p)] != ids_p:
            return "the prompt's tokens are not the first tokens of the conversation"
        return None
    if not full.startswith(p):
        k = next((i for i, (a, b) in enumerate(zip(p, full)) if a != b), min(len(p), len(full)))
        return f"the rendered prompt differs from the rendered conversation at character {k:,} ({p[k:k + 30]!r} vs {full[k:k + 30]!r})"
    # tokens: special tokens split the text, so only the part after the prompt's last one can merge
    cut = 0
    for s in side.model.special_strings:
        j = p.rfind(s)
        if j >= 0:
            cut = max(cut, j + len(s))
    # merges never cross a pre-token boundary, so the seam plus SEAM characters of the answer decide
    tail, rest = p[cut:], full[cut:cut + len(p) - cut + SEAM]
    ids_t = m.tail_ids.get(tail)
    if ids_t is None:
        ids_t = m.encode(tail)
        if len(m.tail_ids) < 256:
            m.tail_ids[tail] = ids_t
    ids_r = m.encode(rest) if tail else []
    if tail and ids_r[:len(ids_t)] != ids_t:
        return (f"the prompt ends with {tail[-20:]!r}, which merges with the answer's first characters "
                f"({rest[len(tail):len(tail) + 12]!r}) into other tokens, so the prompt's tokens are not a prefix")
    return None
