"""The fixer knows no rule and no kind: edits are applied by their op (EDIT_APPLIERS, by the
op's scope), fixability is the policy over the rules' declared applicability, and what a
rule's findings mean for the fix is declared by its check (views, ``observes``, ``halts_fix``).
A plug-in kind the fixer has never heard of gets the same treatment as a built-in one."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tunelint.checks.base import KINDS, DatasetCheck, FileProblemCheck, Finding, FixOffer, LineCheck, RecordCheck
from tunelint.config import load_config
from tunelint.diagnostic import Edit, Fix
from tunelint.engine import FileRun
from tunelint.fixes import EDIT_APPLIERS, Fixer, FixPolicy
from tunelint.model.diagnostic import SCOPES, EditOp

FIX_PKG = Path(__file__).resolve().parent.parent / "src" / "tunelint" / "fixes"


def test_every_edit_op_has_a_scope_and_an_applier():
    assert set(EDIT_APPLIERS) == set(EditOp) == set(SCOPES)
    assert {op.scope for op in EditOp} <= {"file", "line", "record", "value"}
    assert Edit("set", "/a", 1).op is EditOp.SET and Edit("set").op == "set"
    with pytest.raises(ValueError):
        Edit("replace-everything")


def test_the_fix_package_names_no_kind_and_no_rule():
    """No string in fix/ (docstrings aside) is a kind name or a rule code."""
    from tunelint.checks import load_all

    load_all()
    kinds = set(KINDS)
    bad = []
    for path in FIX_PKG.glob("*.py"):
        tree = ast.parse(path.read_text())
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs:
                if n.value in kinds or re.fullmatch(r"[A-Z]\d{3}", n.value):
                    bad.append(f"{path.name}:{n.lineno}: {n.value!r}")
    assert bad == []


def _plugin(tmp_path, name, cls, fix="safe"):
    """Register ``cls`` as kind ``name`` and a config with one rule X9xx of it."""
    KINDS[name] = cls
    cls.kind_name = name
    pack = tmp_path / "pack.yaml"
    fix_line = f"    fix: {{applicability: {fix}}}\n" if fix else ""
    pack.write_text(f"rules:\n  - code: X901\n    name: {name}\n    kind: {name}\n    severity: warning\n"
                    f"    message: m\n{fix_line}")
    return load_config(data={"rule-packs": [str(pack)], "select": ["X901"]})


@pytest.fixture
def plugin_kinds():
    before = dict(KINDS)
    yield
    KINDS.clear()
    KINDS.update(before)


def test_a_plugin_kinds_file_scope_edit_is_applied(tmp_path, plugin_kinds):
    """A line-endings edit from a kind the fixer never heard of (it used to ask for the
    built-in kind by name)."""

    class Crlf(LineCheck, DatasetCheck):
        observes = False
        defaults: dict = {}

        def begin(self, ctx):
            self.first = 0

        def check_line(self, phys, ctx):
            if phys.ending == b"\r\n" and not self.first:
                self.first = phys.line
            return ()

        def finish(self, ctx):
            if self.first:
                yield Finding(line=self.first, fix=FixOffer("to LF", (Edit(EditOp.LINE_ENDINGS, "", ("\r\n", "\n")),)))

    cfg = _plugin(tmp_path, "test-crlf", Crlf)
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(b'{"prompt": "a", "completion": " b"}\r\n{"prompt": "c", "completion": " d"}\r\n')
    res = Fixer(cfg, FixPolicy.from_config(cfg)).fix_file(str(src), str(out))
    assert out.read_bytes() == src.read_bytes().replace(b"\r\n", b"\n")
    assert res.edits == {"X901": 1}


def test_a_plugin_kind_can_halt_the_fix(tmp_path, plugin_kinds):
    """A file problem is fatal for the fix because its check says so (``halts_fix``), not
    because the fixer knows the built-in ``file-problem`` kind."""

    class Unreadable(FileProblemCheck):
        halts_fix = True
        defaults: dict = {}

        def check_file_problem(self, problem, ctx):
            yield Finding(line=problem.line, message=f"cannot read: {problem.kind}")

    cfg = _plugin(tmp_path, "test-unreadable", Unreadable, fix=None)
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 12\n")
    res = Fixer(cfg, FixPolicy.from_config(cfg)).fix_file(str(src), str(out))
    assert res.skipped == "cannot read: lfs-pointer" and not out.exists()


def test_the_fix_package_does_not_shadow_the_api_function():
    import tunelint
    import tunelint.fixer  # noqa: F401 - the older module name still imports
    import tunelint.fixes  # noqa: F401

    assert callable(tunelint.fix)


class _Upper(RecordCheck):
    defaults: dict = {}

    def check_record(self, rec, ctx):
        if isinstance(rec.obj.get("completion"), str) and rec.obj["completion"] != rec.obj["completion"].upper():
            yield Finding(pointer="/completion", fix=FixOffer("upper-case", (Edit("set", "/completion", rec.obj["completion"].upper()),)))


@pytest.mark.parametrize("applicability", ["safe", "unsafe"])
def test_applicability_comes_from_the_rules_yaml_alone(tmp_path, plugin_kinds, applicability):
    cfg = _plugin(tmp_path, "test-upper", _Upper, fix=applicability)
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"prompt": "a", "completion": " b"}\n')
    (d,) = FileRun(str(src), cfg).run()
    assert d.fix == Fix(applicability, "upper-case", (Edit("set", "/completion", " B"),))
    cfg = _plugin(tmp_path, "test-upper", _Upper, fix=None)
    (d,) = FileRun(str(src), cfg).run()
    assert d.fix is None  # a rule without a declared fix offers none


def test_a_check_that_sets_applicability_is_an_error(tmp_path, plugin_kinds):
    class Sets(RecordCheck):
        defaults: dict = {}

        def check_record(self, rec, ctx):
            yield Finding(fix=Fix("safe", "says it is safe", (Edit("drop"),)))

    cfg = _plugin(tmp_path, "test-sets", Sets)
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"prompt": "a", "completion": " b"}\n')
    with pytest.raises(TypeError, match="applicability"):
        FileRun(str(src), cfg).run()


def test_no_check_kind_says_how_safe_its_fix_is():
    """Built-in kinds offer edits (FixOffer); none builds a Fix (which carries applicability)."""
    bad = []
    for path in (FIX_PKG.parent / "checks").glob("*.py"):
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == "Fix":
                bad.append(f"{path.name}:{n.lineno}")
            if isinstance(n, ast.ImportFrom) and any(a.name == "Fix" for a in n.names):
                bad.append(f"{path.name}:{n.lineno}: imports Fix")
    assert bad == []


def test_one_atomic_replacement_path():
    """Every file tunelint replaces goes through fsutil.replace_file (atomic_write uses it): no
    other module renames files into place."""
    src = FIX_PKG.parent
    bad = []
    for path in src.rglob("*.py"):
        if path.name == "fsutil.py":
            continue
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "os" \
                    and n.attr in ("replace", "rename"):
                bad.append(f"{path.relative_to(src)}:{n.lineno}")
    assert bad == []


def test_a_fixed_new_file_gets_the_usual_mode(tmp_path):
    import os

    from tunelint.fsutil import atomic_write

    mask = os.umask(0o022)
    try:
        src, out, rej = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
        src.write_bytes(b'{"prompt": "a ", "completion": " b"}\n{"prompt": "a ", "completion": " b"}\n')
        cfg = load_config(data={})
        Fixer(cfg, FixPolicy.from_config(cfg, unsafe=True)).fix_file(str(src), str(out), rejects=str(rej))
        with atomic_write(str(tmp_path / "side.txt")) as f:
            f.write(b"x")
        for p in (out, rej, tmp_path / "side.txt"):
            assert p.stat().st_mode & 0o777 == 0o644, p
    finally:
        os.umask(mask)
