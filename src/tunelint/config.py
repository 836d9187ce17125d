"""Configuration: ``[tool.tunelint]`` in pyproject.toml or a ``tunelint.toml``; the closest wins.

Strictly validated: an unknown key, rule or parameter is an error (exit 2) with a did-you-mean.
"""
from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .model.errors import ConfigError  # noqa: F401 - re-exported (defined with the other user errors)
from .reader import MAX_RECORD_SIZE
from .spill import DEFAULT_MEMORY
from .rules import (Rule, RuleError, Target, builtin_pack, check_unique, did_you_mean, load_pack, merge_packs, parse_rule,
                    selects)

TOP_KEYS = {
    "select", "ignore", "extend-select", "per-file-ignores", "target", "max-tokens", "format",
    "rule-packs", "rules", "custom-rules", "against", "fix", "glossary", "strict", "preset",
    "exclude", "extend-exclude", "force-exclude", "respect-gitignore",
    "tokenizer", "chat-template", "max-seq-len", "trainer-config", "mapping", "max-record-size",
    "memory",
}

#: sequence-length keys of trainer configs: Axolotl, LLaMA-Factory, TRL (SFTConfig; older name)
TRAINER_LEN_KEYS = ("sequence_len", "cutoff_len", "max_length", "max_seq_length")
#: keys naming the model (a local folder with tokenizer.json is used as the tokenizer)
TRAINER_MODEL_KEYS = ("base_model", "model_name_or_path", "tokenizer_config", "tokenizer_name_or_path")


def read_trainer_config(path: str) -> tuple[int | None, str | None, str]:
    """(sequence length, local tokenizer folder, key used) from an Axolotl, LLaMA-Factory or TRL
    config (YAML or JSON)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the trainer config: {e.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: the trainer config is not valid YAML/JSON: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a trainer config must be a mapping (Axolotl, LLaMA-Factory or TRL YAML)")
    n, key = None, ""
    for k in TRAINER_LEN_KEYS:
        v = data.get(k)
        if v is not None:
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"{path}: {k} must be a positive integer, got {v!r}")
            n, key = v, k
            break
    tok = None
    base = os.path.dirname(os.path.abspath(path))
    for k in TRAINER_MODEL_KEYS:
        v = data.get(k)
        if isinstance(v, str) and v:
            p = v if os.path.isabs(v) else os.path.join(base, v)
            if os.path.isfile(os.path.join(p, "tokenizer.json")):
                tok = p
                break
    if n is None and tok is None:
        raise ConfigError(f"{path}: no sequence length found (Axolotl sequence_len, LLaMA-Factory cutoff_len or TRL max_length)")
    return n, tok, key


def presets_dir() -> Path:
    from .rules import rules_dir

    return rules_dir() / "presets"


def apply_presets(raw: dict, where: str) -> dict:
    """``preset = "name"`` (or a list): start from ``rules/presets/<name>.toml`` and let the
    user's own keys win; per-rule tables and ``[fix]`` merge key by key."""
    names = raw.get("preset")
    if names is None:
        return raw
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where}: 'preset' must be a preset name or a list of names")
    avail = sorted(p.stem for p in presets_dir().glob("*.toml"))
    base: dict = {}
    for n in names:
        if n not in avail:
            raise ConfigError(f"{where}: unknown preset {n!r}{did_you_mean(n, avail)}; available: {', '.join(avail)}")
        base = _merge(base, _read(str(presets_dir() / f"{n}.toml")))
    user = {k: v for k, v in raw.items() if k != "preset"}
    return _merge(base, user)


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        if k in ("rules", "fix") and isinstance(v, dict) and isinstance(out.get(k), dict):
            merged = dict(out[k])
            for rk, rv in v.items():
                merged[rk] = {**merged[rk], **rv} if isinstance(rv, dict) and isinstance(merged.get(rk), dict) else rv
            out[k] = merged
        else:
            out[k] = v
    return out


def _check_params(rule, given: dict, where: str, key: str) -> None:
    """A wrongly typed or out-of-range rule parameter is a config error naming the file and key."""
    from .checks.base import ParamError
    from .checks.registry import kind_class

    try:
        kind_class(rule.kind).validate_params(given)
    except ParamError as e:
        raise ConfigError(f"{where}: [rules.{key}] {e} (rule {rule.code}, {rule.name}; see `tunelint explain {rule.code}`)") from None


@dataclass
class Config:
    rules: list[Rule]  # every known rule (built-in + user), with per-rule overrides applied
    enabled: list[Rule]
    targets: dict[str, Target]
    target: Target
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    format: str | None = None
    source: str | None = None  # config file path, if any
    base_dir: str = "."
    against: list[str] = field(default_factory=list)
    fix: dict[str, Any] = field(default_factory=dict)
    glossary: list[dict] = field(default_factory=list)
    strict: bool = False
    exclude: list[str] | None = None  # None: discover.DEFAULT_EXCLUDE
    extend_exclude: list[str] = field(default_factory=list)
    force_exclude: bool = False
    respect_gitignore: bool = True
    #: column and role mappings (tunelint.mapping.Mappings; None: none, not even dataset_info.json)
    mappings: Any = None
    #: bytes; a record (JSONL line, array element) above it is F029 and never held in memory
    max_record_size: int = MAX_RECORD_SIZE
    #: bytes; the budget for the dataset rules' state (``--memory``; tunelint.spill), None: no bound
    memory: int | None = DEFAULT_MEMORY

    def rules_for(self, path: str) -> list[Rule]:
        if not self.per_file_ignores:
            return self.enabled
        rel = os.path.relpath(path, self.base_dir) if path != "-" else "-"
        drop: list[str] = []
        for pat, sels in self.per_file_ignores.items():
            if fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(os.path.basename(path), pat):
                drop += sels
        if not drop:
            return self.enabled
        return [r for r in self.enabled if not any(_matches(s, r) for s in drop)]

    def rule(self, key: str) -> Rule | None:
        for r in self.rules:
            if r.code == key or r.name == key:
                return r
        return None


def find_config(start: str) -> str | None:
    p = Path(start).resolve()
    if p.is_file() or not p.exists():
        p = p.parent
    for d in (p, *p.parents):
        t = d / "tunelint.toml"
        if t.is_file():
            return str(t)
        pp = d / "pyproject.toml"
        if pp.is_file():
            try:
                with open(pp, "rb") as f:
                    if "tunelint" in tomllib.load(f).get("tool", {}):
                        return str(pp)
            except tomllib.TOMLDecodeError as e:
                # as ruff does: a broken pyproject.toml is an error, not "no configuration"
                raise ConfigError(f"{pp}: invalid TOML: {e}") from None
            except OSError:
                continue
    return None


def _read(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    if os.path.basename(path) == "pyproject.toml":
        return data.get("tool", {}).get("tunelint", {})
    return data.get("tool", {}).get("tunelint", data)


def _matches(selector: str, rule: Rule) -> bool:
    return selects(selector, rule.code, rule.name)


#: public name: does a selector (code, prefix, name or ALL) pick ``rule``?
rule_matches = _matches


def _specificity(selector: str, rule: Rule) -> int:
    if selector == "ALL":
        return 0
    if selector == rule.name:
        return 10
    return len(selector)


def _check_selectors(sels: Any, key: str, rules: list[Rule], where: str) -> list[str]:
    if isinstance(sels, str):
        sels = [s for s in sels.split(",") if s.strip()]
    if not isinstance(sels, list) or not all(isinstance(s, str) for s in sels):
        raise ConfigError(f"{where}: {key!r} must be a list of rule codes, prefixes or names")
    out = []
    for s in sels:
        s = s.strip()
        if not any(_matches(s, r) for r in rules):
            choices = [r.code for r in rules] + [r.name for r in rules]
            raise ConfigError(f"{where}: {key} has unknown rule {s!r}{did_you_mean(s, choices)}")
        out.append(s)
    return out


def select_rules(rules: list[Rule], select: list[str] | None, extend: list[str], ignore: list[str]) -> list[Rule]:
    """ruff semantics: the most specific matching selector wins; on a tie, ignore wins."""
    enabled = []
    for r in rules:
        best_pos = -1
        if select is None:
            if r.default:
                best_pos = 1
        else:
            best_pos = max((_specificity(s, r) for s in select if _matches(s, r)), default=-1)
        best_pos = max([best_pos] + [_specificity(s, r) for s in extend if _matches(s, r)])
        best_neg = max((_specificity(s, r) for s in ignore if _matches(s, r)), default=-1)
        if best_pos >= 0 and best_pos > best_neg:
            enabled.append(r)
    return enabled


def _path_key(raw: dict, key: str, where: str, base_dir: str) -> str | None:
    v = raw.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{where}: {key} must be a path")
    if v.startswith(("builtin:", "mistral:")):
        return v
    return v if os.path.isabs(v) else os.path.join(base_dir, v)


def _trainer_view(tgt: Target, raw: dict, where: str, base_dir: str, tokenizer, chat_template, max_seq_len,
                  trainer_config, explicit_limit: bool) -> Target:
    """The tokenizer, chat template and sequence length: command line, then the trainer config,
    then the config file, then the target."""
    tc = trainer_config or _path_key(raw, "trainer-config", where, base_dir)
    tc_len, tc_tok, tc_key = read_trainer_config(tc) if tc else (None, None, "")
    msl = max_seq_len if max_seq_len is not None else raw.get("max-seq-len")
    if max_seq_len is None and msl is not None and (not isinstance(msl, int) or isinstance(msl, bool) or msl <= 0):
        raise ConfigError(f"{where}: max-seq-len must be a positive integer")
    if max_seq_len is not None:
        tgt = replace(tgt, max_tokens=max_seq_len, limit_source="--max-seq-len")
    elif not explicit_limit and tc_len is not None:
        tgt = replace(tgt, max_tokens=tc_len, limit_source=f"{os.path.basename(tc)} {tc_key}")
    elif not explicit_limit and msl is not None:
        tgt = replace(tgt, max_tokens=msl, limit_source="max-seq-len")
    tok = tokenizer or tc_tok or _path_key(raw, "tokenizer", where, base_dir)
    ct = chat_template or _path_key(raw, "chat-template", where, base_dir)
    if tok:
        tgt = replace(tgt, tokenizer=tok)
    if ct:
        if not tgt.tokenizer:
            raise ConfigError(f"{where}: a chat template needs a tokenizer: pass --tokenizer (a model folder or tokenizer.json) or a target with one")
        tgt = replace(tgt, chat_template=ct)
    return tgt


def load_config(
    config_path: str | None = None,
    start: str = ".",
    *,
    select: list[str] | None = None,
    extend_select: list[str] | None = None,
    ignore: list[str] | None = None,
    target: str | None = None,
    max_tokens: int | None = None,
    fmt: str | None = None,
    isolated: bool = False,
    data: dict | None = None,
    preset: str | None = None,
    exclude: list[str] | None = None,
    extend_exclude: list[str] | None = None,
    force_exclude: bool | None = None,
    tokenizer: str | None = None,
    chat_template: str | None = None,
    max_seq_len: int | None = None,
    trainer_config: str | None = None,
    mapping: str | None = None,
    memory: Any = None,
) -> Config:
    """Build the effective configuration. ``data`` (a [tool.tunelint] table) replaces file lookup."""
    path = None if (isolated or data is not None) else (config_path or find_config(start))
    raw: dict = data if data is not None else (_read(path) if path else {})
    where = path or "command line"
    if preset:
        raw = {**raw, "preset": preset}
    unknown = set(raw) - TOP_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise ConfigError(f"{where}: unknown key {k!r} in [tool.tunelint]{did_you_mean(k, TOP_KEYS)}")
    base_dir = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    raw = apply_presets(raw, where)
    if set(raw) - TOP_KEYS:
        raise ConfigError(f"{where}: a preset sets unknown key(s) {', '.join(sorted(set(raw) - TOP_KEYS))}")
    try:
        pack = merge_packs([builtin_pack(), *(load_pack(os.path.join(base_dir, rp)) for rp in raw.get("rule-packs", []))])
        rules, targets, glossary = pack.rules, pack.targets, pack.glossary
        for i, d in enumerate(raw.get("custom-rules", [])):
            rules.append(parse_rule(d, where + " custom-rules", i))
        check_unique(rules)
    except RuleError as e:
        raise ConfigError(str(e)) from None
    glossary += raw.get("glossary", [])

    # per-rule overrides: [tool.tunelint.rules.C002] severity = "error", enabled = true, <params>
    overrides = raw.get("rules", {})
    if not isinstance(overrides, dict):
        raise ConfigError(f"{where}: 'rules' must be a table of per-rule settings")
    by_key = {r.code: r for r in rules} | {r.name: r for r in rules}
    extra_select: list[str] = []
    extra_ignore: list[str] = []
    for key, ov in overrides.items():
        if key not in by_key:
            raise ConfigError(f"{where}: [tool.tunelint.rules] has unknown rule {key!r}{did_you_mean(key, by_key)}")
        r = by_key[key]
        if not isinstance(ov, dict):
            raise ConfigError(f"{where}: settings for rule {key} must be a table")
        params = dict(r.params)
        sev = r.severity
        for k, v in ov.items():
            if k == "severity":
                if v not in ("error", "warning", "info"):
                    raise ConfigError(f"{where}: rule {key}: severity must be error, warning or info")
                sev = v
            elif k == "enabled":
                (extra_select if v else extra_ignore).append(r.code)
            elif k in params or k == "turns":
                params[k] = v
            else:
                raise ConfigError(f"{where}: rule {r.code} ({r.name}) has no parameter {k!r}{did_you_mean(k, list(params) + ['severity', 'enabled'])}")
        _check_params(r, {k: v for k, v in ov.items() if k not in ("severity", "enabled")}, where, key)
        new = replace(r, severity=sev, params=params)
        rules[rules.index(r)] = new
        by_key[r.code] = by_key[r.name] = new

    sel = select if select is not None else raw.get("select")
    sel = None if sel is None else _check_selectors(sel, "select", rules, where)
    ext = _check_selectors((extend_select or []) + list(raw.get("extend-select", [])) + extra_select, "extend-select", rules, where)
    ign = _check_selectors((ignore or []) + list(raw.get("ignore", [])) + extra_ignore, "ignore", rules, where)
    enabled = select_rules(rules, sel, ext, ign)

    pfi = raw.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{where}: per-file-ignores must be a table of glob = [codes]")
    pfi = {k: _check_selectors(v, f"per-file-ignores[{k!r}]", rules, where) for k, v in pfi.items()}

    tname = target or raw.get("target", "generic")
    if tname not in targets:
        raise ConfigError(f"{where}: unknown target {tname!r}{did_you_mean(tname, targets)}; see `tunelint targets`")
    tgt = targets[tname]
    mt = max_tokens if max_tokens is not None else raw.get("max-tokens")
    if mt is not None:
        if not isinstance(mt, int) or isinstance(mt, bool) or mt <= 0:
            raise ConfigError(f"{where}: max-tokens must be a positive integer")
        tgt = replace(tgt, max_tokens=mt, limit_source="max-tokens")
    tgt = _trainer_view(tgt, raw, where, base_dir, tokenizer, chat_template, max_seq_len, trainer_config,
                        explicit_limit=max_tokens is not None)

    f = fmt or raw.get("format")
    if f is not None:
        from .formats import resolve_format

        try:
            f = resolve_format(f)
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from None
    against = raw.get("against", [])
    if isinstance(against, str):
        against = [against]
    against = [os.path.join(base_dir, a) for a in against]
    fixcfg = raw.get("fix", {})
    if not isinstance(fixcfg, dict):
        raise ConfigError(f"{where}: [tool.tunelint.fix] must be a table")
    excl = exclude if exclude is not None else _patterns(raw, "exclude", where)
    ext_excl = _patterns(raw, "extend-exclude", where) or []
    ext_excl += list(extend_exclude or [])
    for key in ("force-exclude", "respect-gitignore"):
        if key in raw and not isinstance(raw[key], bool):
            raise ConfigError(f"{where}: {key} must be true or false")
    from .mapping import build as build_mappings

    mappings = build_mappings(raw.get("mapping"), mapping, where, base_dir)
    max_record = parse_size(raw.get("max-record-size", Config.max_record_size), "max-record-size", where)
    mem = parse_memory(memory, "--memory", "command line") if memory is not None else \
        parse_memory(raw.get("memory", Config.memory), "memory", where)
    return Config(
        max_record_size=max_record,
        memory=mem,
        mappings=mappings,
        rules=rules, enabled=enabled, targets=targets, target=tgt, per_file_ignores=pfi,
        format=f, source=path, base_dir=base_dir, against=against, fix=fixcfg,
        glossary=glossary, strict=bool(raw.get("strict", False)),
        exclude=excl, extend_exclude=ext_excl,
        force_exclude=bool(raw.get("force-exclude", False)) if force_exclude is None else force_exclude,
        respect_gitignore=raw.get("respect-gitignore", True),
    )


_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3}


def parse_size(v: Any, key: str, where: str) -> int:
    """A byte size: an integer, or a string such as ``"64MiB"``, ``"500 MB"``, ``"1GiB"``."""
    import re

    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*", v, re.I)
        if m and float(m.group(1)) > 0:
            return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])
    raise ConfigError(f"{where}: {key} must be a positive size in bytes, such as 33554432 or \"32MiB\" (got {v!r})")


def parse_memory(v: Any, key: str, where: str) -> int | None:
    """The memory budget: a size (:func:`parse_size`), or ``"none"``/None for no bound."""
    if v is None or (isinstance(v, str) and v.strip().lower() == "none"):
        return None
    return parse_size(v, key, where)


def _patterns(raw: dict, key: str, where: str) -> list[str] | None:
    """``exclude``/``extend-exclude``: a list of glob patterns (ruff's semantics, see tunelint.discover)."""
    v = raw.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{where}: {key} must be a list of glob patterns, like [\"tests/snapshots\", \"*.bak.jsonl\"]")
    return list(v)
