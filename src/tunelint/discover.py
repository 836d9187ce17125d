"""Which files a run reads: directory discovery with ruff's exclusion semantics.

* Files named on the command line are read as given (``-`` is stdin), except tunelint's own
  side files (``*.rejects.jsonl``, ``.tunelint-*`` temporaries), which are never read, and,
  with ``force-exclude``, files the exclusion patterns match (the pre-commit flow, which
  passes every staged file by name).
* Directories are walked for ``.jsonl``, ``.ndjson``, ``.json`` (and ``.gz`` of each) and tables
  (``.parquet`` such as Hub shards ``data/train-00000-of-00002.parquet``, ``.arrow``, ``.csv``,
  ``.tsv``), sorted. In a ``datasets.save_to_disk`` folder (``state.json`` next to ``.arrow``
  files) the data are the ``.arrow`` files ``state.json`` lists; its metadata files
  (``state.json``, ``dataset_info.json``, ``dataset_dict.json``) are not data. Also
  skipping what ``exclude`` (default :data:`DEFAULT_EXCLUDE`; setting it replaces the
  default) and ``extend-exclude`` (added to it) match, what ``.gitignore`` files ignore
  (inside a Git work tree, unless ``respect-gitignore = false``), and ``.json`` files that are
  documents rather than datasets (a manifest such as ``package.json``, a schema, a snapshot,
  a compressed lookup table: neither an array nor one complete object on its first line).
* A pattern without ``/`` matches a file or directory name at any depth (``*.bak.jsonl``,
  ``fixtures``); one with ``/`` matches the path relative to the project root (the directory
  of the configuration file, else the current directory): ``tests/snapshots``, ``data/*.json``.
* A directory in which nothing is found is an error (:class:`NoDatasetFiles`): a CI gate
  must not pass on a wrong path.
"""
from __future__ import annotations

import fnmatch
import gzip
import os
import re
from typing import Iterator

from .model.errors import UserError
from .model.markers import BOM

EXTENSIONS = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".ndjson.gz",
              ".parquet", ".arrow", ".csv", ".tsv")  # tables: tunelint.tables
#: files a ``datasets.save_to_disk`` folder holds next to its ``.arrow`` data: metadata, not records
ARROW_METADATA = ("dataset_info.json", "state.json", "dataset_dict.json")
MAPPING_FILES = ("dataset_info.json",)  # LLaMA-Factory's column mappings (tunelint.mapping reads them)
DEFAULT_EXCLUDE = (".*", "__pycache__", "node_modules", "site-packages", "venv")


class NoDatasetFiles(UserError):
    """A directory argument holds no dataset file (one line for the user, exit 2)."""


def is_side_file(path: str) -> bool:
    """A file tunelint itself writes next to datasets: a rejects file or a leftover temporary
    file of an interrupted write. Never read as a dataset."""
    name = os.path.basename(path).lower()
    return name.startswith(".tunelint-") or name.endswith((".rejects.jsonl", ".rejects.jsonl.gz"))


class Excluder:
    def __init__(self, exclude=None, extend_exclude=(), base_dir: str | None = None):
        pats = list(DEFAULT_EXCLUDE if exclude is None else exclude) + list(extend_exclude or ())
        self.base = os.path.abspath(base_dir or os.getcwd())
        self.names = [p for p in pats if "/" not in p.rstrip("/")]
        self.paths = [p.strip("/") for p in pats if "/" in p.rstrip("/")]

    def __call__(self, path: str) -> bool:
        name = os.path.basename(path.rstrip(os.sep))
        if any(fnmatch.fnmatchcase(name, p.rstrip("/")) for p in self.names):
            return True
        if self.paths:
            rel = os.path.relpath(os.path.abspath(path), self.base).replace(os.sep, "/")
            if not rel.startswith("../"):
                return any(fnmatch.fnmatchcase(rel, p) or rel.startswith(p + "/") for p in self.paths)
        return False


# -- .gitignore ---------------------------------------------------------------------------
def _git_root(d: str) -> str | None:
    d = os.path.abspath(d)
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        up = os.path.dirname(d)
        if up == d:
            return None
        d = up


def _glob_regex(pat: str) -> str:
    out = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pat.startswith("/**", i) and i + 3 == len(pat):
            out.append("/.*")
            i += 3
            continue
        if c == "*":
            if pat.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pat.find("]", i + 2)
            if j < 0:
                out.append(re.escape(c))
            else:
                cls = pat[i + 1:j]
                if cls.startswith("!"):
                    cls = "^" + cls[1:]
                out.append("[" + cls.replace("\\", "\\\\") + "]")
                i = j
        elif c == "\\" and i + 1 < len(pat):
            i += 1
            out.append(re.escape(pat[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


class GitIgnore:
    """The .gitignore rules of one work tree (its root's, .git/info/exclude and every
    directory's own, read as the walk reaches them); the last matching rule wins."""

    def __init__(self, root: str):
        self.root = root
        self.rules: list[tuple[str, re.Pattern, bool, bool]] = []  # (base dir rel, regex, negate, dir only)
        self._read(os.path.join(root, ".git", "info", "exclude"), "")
        self.seen: set[str] = set()

    def enter(self, d: str) -> None:
        """Read the .gitignore files of ``d`` and of its parents up to the root (once each)."""
        d = os.path.abspath(d)
        chain = []
        while d not in self.seen:
            chain.append(d)
            self.seen.add(d)
            if d == self.root or os.path.dirname(d) == d:
                break
            d = os.path.dirname(d)
        for x in reversed(chain):
            rel = os.path.relpath(x, self.root).replace(os.sep, "/")
            self._read(os.path.join(x, ".gitignore"), "" if rel == "." else rel)

    def _read(self, path: str, base: str) -> None:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return
        for ln in lines:
            if not ln.strip() or ln.startswith("#"):
                continue
            ln = ln.rstrip() if not ln.rstrip().endswith("\\") else ln
            neg = ln.startswith("!")
            if neg:
                ln = ln[1:]
            elif ln.startswith("\\!") or ln.startswith("\\#"):
                ln = ln[1:]
            dir_only = ln.endswith("/")
            ln = ln.rstrip("/")
            if not ln:
                continue
            anchored = "/" in ln
            body = _glob_regex(ln.lstrip("/"))
            rx = re.compile(("" if anchored else "(?:.*/)?") + body + "(?:/.*)?\\Z" if not dir_only else
                            ("" if anchored else "(?:.*/)?") + body + "\\Z")
            self.rules.append((base, rx, neg, dir_only))

    def ignored(self, path: str, is_dir: bool) -> bool:
        rel = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        hit = False
        for base, rx, neg, dir_only in self.rules:
            if dir_only and not is_dir:
                continue
            if base:
                if not rel.startswith(base + "/"):
                    continue
                sub = rel[len(base) + 1:]
            else:
                sub = rel
            if rx.match(sub):
                hit = not neg
        return hit


# -- .json documents ----------------------------------------------------------------------------
def looks_like_dataset(path: str) -> bool:
    """A ``.json`` file found in a directory is read as a dataset when it holds a JSON array or
    JSON Lines (its first line is one complete object); a pretty-printed object (package.json,
    a schema, a snapshot) or a one-line lookup table larger than 64 KB is a document."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(2)
            raw.seek(0)
            f = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
            data = f.read(65536)
    except (OSError, EOFError, gzip.BadGzipFile):
        return True  # unreadable: let the reader report it
    s = data.lstrip()
    if s.startswith(BOM):
        s = s[3:].lstrip()
    if not s or s[:1] == b"[":
        return True
    if s[:1] != b"{":
        return True  # not JSON at all: the reader reports what it is
    nl = s.find(b"\n")
    if nl < 0:
        return len(data) < 65536
    import orjson

    try:
        return isinstance(orjson.loads(s[:nl]), dict)
    except orjson.JSONDecodeError:
        return False


# -- the walk ---------------------------------------------------------------------------------------
def iter_input_paths(paths: list[str], config=None, notes: list[str] | None = None) -> Iterator[str]:
    """Expand directories into the dataset files they hold, sorted; keep files and '-' as given
    (see the module docstring). ``config`` supplies exclude, extend-exclude, force-exclude,
    respect-gitignore and the project root; ``notes`` collects one line per explicit file skipped."""
    if notes is None:
        import sys

        notes = _Stderr(sys.stderr)
    exclude = getattr(config, "exclude", None)
    excl = Excluder(exclude, getattr(config, "extend_exclude", ()), getattr(config, "base_dir", None))
    force = bool(getattr(config, "force_exclude", False))
    gitignore = getattr(config, "respect_gitignore", True)
    for p in paths:
        if p == "-" or not os.path.isdir(p):
            if p != "-" and is_side_file(p):
                notes.append(f"{p}: skipped: tunelint's own {'rejects' if 'rejects' in p.lower() else 'temporary'} file")
                continue
            if p != "-" and force and excl(p):
                notes.append(f"{p}: skipped: excluded by configuration (force-exclude)")
                continue
            yield p
            continue
        found = list(_walk(p, excl, gitignore, getattr(getattr(config, "mappings", None), "sources", None)))
        if not found:
            raise NoDatasetFiles(f"no dataset files found under {p} (looked for {', '.join(EXTENSIONS)}; "
                                 "excluded and .gitignore'd paths are skipped)")
        yield from found


class _Stderr(list):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def append(self, line: str) -> None:
        self.f.write(f"tunelint: {line}\n")


def _walk(top: str, excl: Excluder, gitignore: bool, mapping_files=None) -> list[str]:
    root = _git_root(top) if gitignore else None
    gi = GitIgnore(root) if root else None
    found = []
    for d, dirs, files in os.walk(top):
        if gi is not None:
            gi.enter(d)
        keep = []
        for x in sorted(dirs):
            full = os.path.join(d, x)
            if excl(full) or (gi is not None and gi.ignored(full, True)):
                continue
            keep.append(x)
        dirs[:] = keep
        arrow = _save_to_disk_files(d, files)
        for f in files:
            low = f.lower()
            if not low.endswith(EXTENSIONS) or is_side_file(f):
                continue
            if arrow is not None and (low in ARROW_METADATA or (low.endswith(".arrow") and f not in arrow)):
                continue
            full = os.path.join(d, f)
            if low in MAPPING_FILES or (mapping_files and os.path.abspath(full) in mapping_files):
                continue  # column mappings (tunelint.mapping), not data
            if excl(full) or (gi is not None and gi.ignored(full, False)):
                continue
            if low.endswith((".json", ".json.gz")) and not looks_like_dataset(full):
                continue
            found.append(full)
    return sorted(found)


def _save_to_disk_files(root: str, files: list[str]) -> set[str] | None:
    """The ``.arrow`` data files of a ``save_to_disk`` folder (None: not such a folder)."""
    if "state.json" not in files or not any(f.endswith(".arrow") for f in files):
        if "dataset_dict.json" in files:
            return set()  # a DatasetDict's top folder: its splits are subfolders
        return None
    import json

    try:
        with open(os.path.join(root, "state.json"), encoding="utf-8") as f:
            state = json.load(f)
        listed = {d["filename"] for d in state.get("_data_files", []) if isinstance(d, dict) and "filename" in d}
    except (OSError, ValueError, TypeError, AttributeError):
        listed = set()
    return listed or {f for f in files if f.endswith(".arrow") and not f.startswith("cache-")}
