"""Column and role mapping: records whose keys and roles have other names than a format's.

A :class:`Mapping` renames a record's keys (``query`` -> ``instruction``), the keys of its
messages (``from``/``value`` -> ``role``/``content``) and its role names (``human`` -> ``user``)
into one of the formats of :mod:`tunelint.formats`, before detection; every finding's JSON
pointer is translated back (:meth:`Mapping.unmap`), so it names the file's own keys.

Where mappings come from (:class:`Mappings`, per data file):
- ``[tool.tunelint.mapping]`` (or ``[mapping]`` in ``tunelint.toml``): ``keys``, ``message-keys``,
  ``roles``, optionally ``format``, for every file; or ``from = "PATH"`` naming one of:
- a LLaMA-Factory ``dataset_info.json`` (``columns``, ``tags``, ``formatting`` alpaca|sharegpt,
  ``ranking``); one next to a data file is read automatically, matched by ``file_name``;
- an Axolotl config's ``datasets:`` entries (``field_instruction``/``field_input``/
  ``field_output``/``field_system``, ``field_messages``, ``message_property_mappings`` role/content
  or ``message_field_role``/``message_field_content``, ``roles``), matched by ``path``/``data_files``.
``--mapping PATH`` on the command line does the same as ``from``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .model.errors import ConfigError

#: canonical keys that hold message lists, whose messages' keys and roles are mapped too
LIST_KEYS = ("messages", "conversations", "chosen", "rejected", "prompt", "completion")
#: LLaMA-Factory's column names -> tunelint's keys, per formatting (its defaults are the same names)
LF_COLUMNS = {
    "alpaca": {"prompt": "instruction", "query": "input", "response": "output", "history": "history", "system": "system"},
    "sharegpt": {"messages": "conversations", "system": "system", "tools": "tools"},
}
LF_SHARED = {"images": "images", "videos": "videos", "audios": "audios", "chosen": "chosen", "rejected": "rejected",
             "kto_tag": "kto_tag"}
#: LLaMA-Factory's ShareGPT tags -> (the tag's default, the ShareGPT name tunelint reads)
LF_TAGS = {"user_tag": ("human", "human"), "assistant_tag": ("gpt", "gpt"), "observation_tag": ("observation", "observation"),
           "function_tag": ("function_call", "function_call"), "system_tag": ("system", "system")}
MAPPING_KEYS = {"keys", "message-keys", "roles", "format", "from"}


@dataclass(frozen=True)
class Mapping:
    keys: dict[str, str] = field(default_factory=dict)  # tunelint key -> the file's key
    message_keys: dict[str, str] = field(default_factory=dict)  # inside messages, the same
    roles: dict[str, str] = field(default_factory=dict)  # the file's role name -> tunelint's
    format: str | None = None
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "_rev", {v: k for k, v in self.keys.items() if k != v})
        object.__setattr__(self, "_mrev", {v: k for k, v in self.message_keys.items() if k != v})

    @property
    def identity(self) -> bool:
        return not self._rev and not self._mrev and all(k == v for k, v in self.roles.items())

    def apply(self, obj: Any) -> Any:
        """``obj`` with the file's names replaced by tunelint's (a new object; ``obj`` is kept)."""
        if not isinstance(obj, dict):
            return obj
        rev, mrev, roles = self._rev, self._mrev, self.roles
        out = {}
        for k, v in obj.items():
            ck = rev.get(k, k)
            if ck in out and k not in rev:
                continue  # a mapped key wins over a same-named column the mapping does not use
            if isinstance(v, list) and ck in LIST_KEYS and (mrev or roles):
                v = [self._message(m, mrev, roles) for m in v]
            elif isinstance(v, dict) and ck in ("chosen", "rejected") and (mrev or roles):
                v = self._message(v, mrev, roles)
            out[ck] = v
        return out

    @staticmethod
    def _message(m: Any, mrev: dict, roles: dict) -> Any:
        if not isinstance(m, dict):
            return m
        out = {mrev.get(k, k): v for k, v in m.items()}
        for rk in ("role", "from"):
            r = out.get(rk)
            if isinstance(r, str) and r in roles:
                out[rk] = roles[r]
        return out

    def file_key(self, key: str) -> str:
        """The file's name for one of tunelint's keys (top-level or message key)."""
        return self.keys.get(key) or self.message_keys.get(key) or key

    def unmap(self, pointer: str) -> str:
        """A JSON pointer into the mapped record, as a pointer into the file's record."""
        if not pointer or (not self._rev and not self._mrev):
            return pointer
        from .diagnostic import pointer as join, split_pointer

        toks = split_pointer(pointer)
        first = toks[0]
        toks[0] = self.keys.get(first, first)
        if self._mrev and len(toks) >= 3 and first in LIST_KEYS and toks[1].isdigit():
            toks[2] = self.message_keys.get(toks[2], toks[2])
        elif self._mrev and len(toks) >= 2 and first in ("chosen", "rejected") and not toks[1].isdigit():
            toks[1] = self.message_keys.get(toks[1], toks[1])
        return join(*toks)


def _strs(v: Any, where: str, what: str) -> dict[str, str]:
    if v is None:
        return {}
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) and x for k, x in v.items()):
        raise ConfigError(f"{where}: {what} must be a table of names (strings)")
    return dict(v)


def from_table(t: dict, where: str) -> Mapping:
    """``[tool.tunelint.mapping]``: keys, message-keys, roles (file name = tunelint's name for
    keys; file role = tunelint role for roles), format."""
    unknown = set(t) - MAPPING_KEYS
    if unknown:
        from .model.errors import did_you_mean

        k = sorted(unknown)[0]
        raise ConfigError(f"{where}: unknown key {k!r} in [mapping]{did_you_mean(k, MAPPING_KEYS)}")
    fmt = t.get("format")
    if fmt is not None:
        from .formats import resolve_format

        try:
            fmt = resolve_format(str(fmt))
        except ValueError as e:
            raise ConfigError(f"{where}: [mapping] {e}") from None
    return Mapping(_strs(t.get("keys"), where, "[mapping] keys"), _strs(t.get("message-keys"), where, "[mapping] message-keys"),
                   _strs(t.get("roles"), where, "[mapping] roles"), fmt, where)


# -- LLaMA-Factory dataset_info.json -------------------------------------------------------------
def from_dataset_info_entry(e: dict, where: str) -> Mapping:
    formatting = e.get("formatting", "alpaca")
    if formatting not in LF_COLUMNS:
        raise ConfigError(f"{where}: formatting {formatting!r} is not alpaca or sharegpt")
    cols = e.get("columns") or {}
    tags = e.get("tags") or {}
    if not isinstance(cols, dict) or not isinstance(tags, dict):
        raise ConfigError(f"{where}: 'columns' and 'tags' must be objects")
    names = {**LF_COLUMNS[formatting], **LF_SHARED}
    keys = {names[c]: f for c, f in cols.items() if c in names and isinstance(f, str)}
    mkeys, roles = {}, {}
    if formatting == "sharegpt":
        if isinstance(tags.get("role_tag"), str):
            mkeys["from"] = tags["role_tag"]
        if isinstance(tags.get("content_tag"), str):
            mkeys["value"] = tags["content_tag"]
        for tag, (default, ours) in LF_TAGS.items():
            v = tags.get(tag, default)
            if isinstance(v, str) and v != ours:
                roles[v] = ours
    return Mapping(keys, mkeys, roles, "preference" if e.get("ranking") else formatting, where)


def read_dataset_info(path: str) -> dict[str, Mapping]:
    """file_name -> Mapping for every entry of a LLaMA-Factory dataset_info.json that names a file."""
    import orjson

    try:
        with open(path, "rb") as f:
            doc = orjson.loads(f.read())
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the mapping: {e.strerror}") from None
    except orjson.JSONDecodeError as e:
        raise ConfigError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a dataset_info.json is an object of datasets")
    out = {}
    for name, e in doc.items():
        if isinstance(e, dict) and isinstance(e.get("file_name"), str):
            out[e["file_name"]] = from_dataset_info_entry(e, f"{path} [{name}]")
    return out


# -- Axolotl datasets: ---------------------------------------------------------------------------
def from_axolotl_entry(e: dict, where: str) -> Mapping:
    t = e.get("type")
    if isinstance(t, dict):  # a custom prompt format: alpaca-like fields
        keys = {ours: t[f] for f, ours in (("field_instruction", "instruction"), ("field_input", "input"),
                                            ("field_output", "output"), ("field_system", "system")) if isinstance(t.get(f), str)}
        return Mapping(keys, {}, {}, "alpaca", where)
    keys, mkeys, roles = {}, {}, {}
    if isinstance(e.get("field_messages"), str):
        keys["messages"] = e["field_messages"]
    mpm = e.get("message_property_mappings") or {}
    if isinstance(mpm, dict):
        mkeys.update({k: v for k, v in mpm.items() if k in ("role", "content") and isinstance(v, str)})
    for k, ours in (("message_field_role", "role"), ("message_field_content", "content")):
        if isinstance(e.get(k), str):
            mkeys.setdefault(ours, e[k])
    rm = e.get("roles") or {}
    if isinstance(rm, dict):
        for ours, theirs in rm.items():
            for r in ([theirs] if isinstance(theirs, str) else theirs or []):
                if isinstance(r, str) and r != ours:
                    roles[r] = ours
    fmt = "chat" if t == "chat_template" or keys or mkeys or roles else None
    return Mapping(keys, mkeys, roles, fmt, where)


def read_axolotl(path: str) -> dict[str, Mapping]:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the mapping: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    ds = doc.get("datasets") if isinstance(doc, dict) else None
    if not isinstance(ds, list):
        raise ConfigError(f"{path}: an Axolotl config with a 'datasets:' list was expected")
    out = {}
    for i, e in enumerate(ds):
        if not isinstance(e, dict):
            continue
        m = from_axolotl_entry(e, f"{path} datasets[{i}]")
        files = e.get("data_files") or e.get("path")
        for fn in [files] if isinstance(files, str) else files if isinstance(files, list) else []:
            if isinstance(fn, str):
                out[fn] = m
    return out


def read_mapping_file(path: str) -> dict[str, Mapping]:
    """file name -> Mapping from a dataset_info.json, an Axolotl YAML config."""
    low = path.lower()
    if low.endswith((".yaml", ".yml")):
        return read_axolotl(path)
    if low.endswith(".json"):
        return read_dataset_info(path)
    raise ConfigError(f"{path}: a mapping file is a LLaMA-Factory dataset_info.json or an Axolotl .yaml config")


class Mappings:
    """The mapping of each data file: a file's entry in a named mapping file, else one in a
    ``dataset_info.json`` next to it, else the config's table."""

    def __init__(self, table: Mapping | None = None, files: dict[str, Mapping] | None = None, base: str = "."):
        self.table = table
        self.files = files or {}
        self.base = base
        self.sources: set[str] = set()  # the mapping files read (a directory walk skips them)
        self._dirs: dict[str, dict[str, Mapping]] = {}

    def _match(self, path: str, entries: dict[str, Mapping], root: str) -> Mapping | None:
        ap = os.path.abspath(path)
        for name, m in entries.items():
            if os.path.abspath(os.path.join(root, name)) == ap:
                return m
        base = os.path.basename(path)
        hits = [m for name, m in entries.items() if os.path.basename(name) == base]
        return hits[0] if len(hits) == 1 else None

    def for_path(self, path: str) -> Mapping | None:
        if path in ("-", "") or path.startswith("<"):
            return self.table
        m = self._match(path, self.files, self.base) if self.files else None
        if m is None:
            d = os.path.dirname(os.path.abspath(path))
            local = self._dirs.get(d)
            if local is None:
                info = os.path.join(d, "dataset_info.json")
                local = self._dirs[d] = read_dataset_info(info) if os.path.isfile(info) else {}
            m = self._match(path, local, d) if local else None
        m = m or self.table
        return None if m is None or (m.identity and m.format is None) else m


def build(raw: Any, cli_path: str | None, where: str, base_dir: str) -> Mappings:
    """The config's ``mapping`` value (a table) and ``--mapping PATH``."""
    table, files = None, {}
    if raw is not None:
        if isinstance(raw, str):
            raw = {"from": raw}
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: mapping must be a table ([tool.tunelint.mapping]) or a path")
        src = raw.get("from")
        rest = {k: v for k, v in raw.items() if k != "from"}
        table = from_table(rest, where) if rest else None
        if src is not None:
            if not isinstance(src, str):
                raise ConfigError(f"{where}: mapping 'from' must be a path")
            files.update(read_mapping_file(os.path.join(base_dir, src)))
    sources = set()
    if raw is not None and isinstance(raw.get("from"), str):
        sources.add(os.path.abspath(os.path.join(base_dir, raw["from"])))
    if cli_path:
        files.update(read_mapping_file(cli_path))
        sources.add(os.path.abspath(cli_path))
        base_dir = os.path.dirname(os.path.abspath(cli_path))
    elif raw is not None and isinstance(raw.get("from"), str):
        base_dir = os.path.dirname(os.path.abspath(os.path.join(base_dir, raw["from"])))
    ms = Mappings(table, files, base_dir)
    ms.sources = sources
    return ms
