"""Rule packs: YAML data naming generic check kinds (see ``rules/*.yaml``).

A pack is a YAML mapping with ``rules:`` (a list of rule mappings) and optionally
``targets:`` (token-limit presets). Users load their own packs with ``rule-packs`` in config
or declare rules inline under ``[tool.tunelint] rules``-style config; both go through
:func:`parse_rule` and are validated the same way.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .diagnostic import SEVERITIES
from .model.errors import RuleError, did_you_mean  # noqa: F401 - re-exported (defined with the other user errors)

CODE_RE = re.compile(r"^[A-Z]{1,3}\d{3}$")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FAMILIES = {
    "F": "format/schema", "E": "encoding/whitespace", "D": "duplicates/conflicts/leakage",
    "T": "terminology/consistency", "S": "style drift", "L": "length/token limits",
    "P": "prompt/completion delimiters", "C": "content",
}
RULE_KEYS = {"code", "name", "kind", "severity", "summary", "message", "params", "default",
             "fix", "doc", "examples", "formats"}


@dataclass(slots=True)
class Rule:
    code: str
    name: str
    kind: str
    severity: str
    summary: str
    message: str
    params: dict[str, Any]
    default: bool = True
    fix: dict[str, Any] | None = None  # {"applicability": "safe"|"unsafe", "description": str}
    doc: str = ""
    examples: dict[str, list] = field(default_factory=dict)
    formats: tuple[str, ...] = ()  # formats the rule applies to (empty = all)
    source: str = ""  # pack file the rule came from

    @property
    def family(self) -> str:
        return self.code.rstrip("0123456789")


@dataclass(slots=True)
class Target:
    name: str
    encoding: str
    max_tokens: int | None
    min_examples: int
    description: str = ""
    per_message: int = 3  # OpenAI chat overhead: tokens per message
    per_name: int = 1
    reply_priming: int = 3
    #: the model's own tokenizer (a local path, ``builtin:NAME`` or ``mistral:FILE``; see tunelint.chat):
    #: when set, counts are those of the rendered chat template, exactly what the trainer sees
    tokenizer: str | None = None
    chat_template: str | None = None  # a template file replacing the tokenizer's own
    own_tokenizer: bool = False  # tunelint cannot ship this model's tokenizer (licence): bring yours
    closed_from: str | None = None  # the service takes no new fine-tuning jobs from this date
    limit_source: str = ""  # where max_tokens came from when not the target (for messages)
    #: whether the target takes image parts: None (not known: not checked), False, or the
    #: limits it sets ({max_count: images per example, max_bytes: per image})
    images: Any = None
    #: "string": the service wants tool call ``arguments`` as a JSON-encoded string (OpenAI), not
    #: an object (the Hugging Face chat-template convention); None: either (F031)
    tool_arguments: str | None = None


def selects(selector: str, code: str, name: str) -> bool:
    """Whether a rule selector (``ALL``, a code or code prefix, or a rule name) picks the rule
    ``code``/``name``: the one matcher of ``select``, ``ignore``, ``per-file-ignores``,
    ``rules --select`` and the fix settings (``fixable``, ``unfixable``, ...)."""
    return selector == "ALL" or code.startswith(selector) or selector == name


def _where(src: str, i: int | None = None) -> str:
    return f"{src}" + (f" (rule #{i + 1})" if i is not None else "")


def parse_rule(d: Any, src: str, i: int | None = None) -> Rule:
    from .checks.registry import kind_class, kind_names

    where = _where(src, i)
    if not isinstance(d, dict):
        raise RuleError(f"{where}: a rule must be a mapping, got {type(d).__name__}")
    unknown = set(d) - RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown rule key(s) {', '.join(sorted(unknown))}{did_you_mean(sorted(unknown)[0], RULE_KEYS)}")
    for req in ("code", "name", "kind", "message"):
        if req not in d:
            raise RuleError(f"{where}: rule is missing {req!r}")
    code, name, knd = str(d["code"]), str(d["name"]), str(d["kind"])
    where = f"{src}: rule {code}"
    if not CODE_RE.match(code):
        raise RuleError(f"{where}: code must be a family letter plus three digits, like C101")
    if not NAME_RE.match(name):
        raise RuleError(f"{where}: name {name!r} must be kebab-case, like 'empty-answer'")
    cls = kind_class(knd)  # imports the kind's module (only the kinds the packs name)
    if cls is None:
        raise RuleError(f"{where}: unknown check kind {knd!r}{did_you_mean(knd, kind_names())}")
    sev = d.get("severity", "warning")
    if sev not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, got {sev!r}")
    params = dict(d.get("params") or {})
    bad = set(params) - set(cls.defaults) - {"turns"}
    if bad:
        b = sorted(bad)[0]
        raise RuleError(f"{where}: kind {knd!r} has no parameter {b!r}{did_you_mean(b, set(cls.defaults) | {'turns'})}")
    check_params(cls, params, where)
    fix = d.get("fix")
    if fix is not None:
        if not isinstance(fix, dict) or fix.get("applicability") not in ("safe", "unsafe"):
            raise RuleError(f"{where}: fix must be a mapping with applicability: safe|unsafe")
    ex = d.get("examples") or {}
    if not isinstance(ex, dict) or set(ex) - {"pass", "fail", "fix"}:
        raise RuleError(f"{where}: examples must be a mapping with pass/fail/fix lists")
    fmts = d.get("formats") or ()
    return Rule(
        code=code, name=name, kind=knd, severity=sev,
        summary=str(d.get("summary", "")).strip(), message=str(d["message"]),
        params={**cls.defaults, **params}, default=bool(d.get("default", True)),
        fix=fix, doc=str(d.get("doc", "")).strip(), examples=ex,
        formats=tuple(fmts), source=src,
    )


def check_params(cls, params: dict, where: str) -> None:
    """Validate a rule's parameters against its kind's typed :class:`~tunelint.checks.base.Param`
    declarations (types, ranges, allowed values): a RuleError naming ``where``."""
    from .checks.base import ParamError

    try:
        cls.validate_params(params)
    except ParamError as e:
        raise RuleError(f"{where}: {e}") from None


def rules_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "rules"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "rules"  # source checkout / editable install


def _cache_dir() -> str | None:
    """Where parsed rule packs are cached: ``$TUNELINT_CACHE_DIR`` (empty: no cache), else
    ``$XDG_CACHE_HOME/tunelint`` or ``~/.cache/tunelint``."""
    d = os.environ.get("TUNELINT_CACHE_DIR")
    if d is not None:
        return d or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base) or os.path.dirname(base) == base or base == os.sep + ".cache":
        return None  # no usable home (HOME unset or empty, a uid without a passwd entry): no cache
    return os.path.join(base, "tunelint")


def _yaml_load(path: str | os.PathLike):
    """A YAML file's data. Parsing the shipped packs is a noticeable share of a pre-commit run (benchmarks/README.md, design measurements), so
    the result is cached as JSON under ``_cache_dir()``, keyed by the file's path, size,
    modification and change times, inode and tunelint's version (any change is a new key; a
    cache that cannot be read, written or decoded is ignored)."""
    cache = None
    d = _cache_dir()
    if d:
        try:
            st = os.stat(path)
            import hashlib

            from .version import __version__

            key = (f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}"
                   f"\0{__version__}").encode()
            cache = os.path.join(d, "packs", hashlib.sha1(key).hexdigest() + ".json")
            with open(cache, "rb") as f:
                import orjson

                blob = f.read()
                data = orjson.loads(blob)
                return _unbytes(data) if _BYTES_TAG.encode() in blob else data
        except (OSError, ValueError, TypeError):  # missing, unreadable or damaged: parse the YAML
            pass
    data = _yaml_parse(path)
    if cache:
        _cache_write(cache, data)
    return data


_BYTES_TAG = "$tunelint-bytes"  # {tag: base64}: a YAML !!binary value (raw-bytes rule examples)


def _bytes_default(o):
    if isinstance(o, bytes):
        import base64

        return {_BYTES_TAG: base64.b64encode(o).decode()}
    raise TypeError


def _unbytes(x):
    if isinstance(x, dict):
        if len(x) == 1 and _BYTES_TAG in x:
            import base64

            return base64.b64decode(x[_BYTES_TAG])
        return {k: _unbytes(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_unbytes(v) for v in x]
    return x


def _cache_write(cache: str, data) -> None:
    import orjson

    try:
        blob = orjson.dumps(data, default=_bytes_default)
        if _unbytes(orjson.loads(blob)) != data:
            return  # something JSON does not keep (a date, a non-string key): not cached
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        from .fsutil import atomic_write

        with atomic_write(cache) as f:  # a concurrent reader sees the whole file or none; a failed write leaves nothing
            f.write(blob)
    except (OSError, TypeError, orjson.JSONEncodeError):
        pass


def _yaml_parse(path: str | os.PathLike):
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, "rb") as f:
            return yaml.load(f, Loader=loader)
    except yaml.YAMLError as e:
        raise RuleError(f"{path}: invalid YAML: {e}") from None
    except OSError as e:
        raise RuleError(f"{path}: cannot read rule pack: {e.strerror}") from None


@dataclass(slots=True)
class Pack:
    rules: list[Rule]
    targets: dict[str, Target]
    glossary: list[dict]


def load_pack(path: str | os.PathLike) -> Pack:
    data = _yaml_load(path)
    src = str(path)
    if data is None:
        return Pack([], {}, [])
    if not isinstance(data, dict):
        raise RuleError(f"{src}: a rule pack must be a mapping with a 'rules' list")
    extra = set(data) - {"pack", "description", "rules", "targets", "glossary"}
    if extra:
        raise RuleError(f"{src}: unknown top-level key(s): {', '.join(sorted(extra))}")
    rules = [parse_rule(r, src, i) for i, r in enumerate(data.get("rules") or [])]
    targets = {}
    for name, t in (data.get("targets") or {}).items():
        try:
            targets[name] = Target(name=name, **t)
        except TypeError as e:
            raise RuleError(f"{src}: target {name!r}: {e}") from None
    glossary = data.get("glossary") or []
    return Pack(rules, targets, glossary)


@lru_cache(maxsize=None)
def builtin_pack() -> Pack:
    d = rules_dir()
    if not d.is_dir():
        raise RuleError(f"shipped rule packs not found at {d}; reinstall tunelint")
    pack = merge_packs(load_pack(f) for f in sorted(d.glob("*.yaml")))
    check_unique(pack.rules)
    return pack


def merge_packs(packs) -> Pack:
    """Rules and glossary concatenated in order; a later target of the same name wins."""
    out = Pack([], {}, [])
    for p in packs:
        out.rules += p.rules
        out.targets.update(p.targets)
        out.glossary += p.glossary
    return out


def check_unique(rules: list[Rule]) -> None:
    """Every code and every name is used by one rule only."""
    seen: dict[str, str] = {}
    for r in rules:
        for key in (r.code, r.name):
            if key in seen:
                raise RuleError(f"{r.source}: rule code or name {key!r} is already used by a rule in {seen[key]}")
            seen[key] = r.source
