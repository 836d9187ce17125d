"""The plug-in contract (checks/base.py), the public engine API and typed rule parameters.

Promises: a wrongly typed or out-of-range rule parameter, or an unknown ``problem`` id, is one
exit-2 line naming the file and the key (never an internal error, never silently accepted);
a kind gets exactly the hooks of the input views it declares; the contract imports nothing
that could make an import cycle.
"""
import ast
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, run_cli

SRC = Path(__file__).resolve().parent.parent / "src" / "tunelint"
DEMO = FIXTURES / "demo" / "train.jsonl"


def _cli_with_config(tmp_path, toml: str, *args):
    (tmp_path / "tunelint.toml").write_text(toml)
    data = tmp_path / "d.jsonl"
    data.write_bytes(DEMO.read_bytes())
    return run_cli("check", "d.jsonl", *args, cwd=tmp_path)


def _one_error_line(p):
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    assert "internal error" not in p.stderr and "Traceback" not in p.stderr
    return lines[0]


def test_promise_config_param_type_is_exit_2(tmp_path):
    p = _cli_with_config(tmp_path, '[rules.D003]\nthreshold = "high"\n')
    assert p.returncode == 2
    line = _one_error_line(p)
    assert "tunelint.toml" in line and "[rules.D003]" in line and "'threshold'" in line
    assert "number from 0 to 1" in line and "'high'" in line


def test_promise_config_param_range_is_exit_2(tmp_path):
    p = _cli_with_config(tmp_path, "[rules.near-duplicate]\nthreshold = 1.5\n")
    assert p.returncode == 2
    line = _one_error_line(p)
    assert "tunelint.toml" in line and "threshold" in line and "1.5" in line and "from 0 to 1" in line
    # a boolean is not a number, a float is not a count
    for toml in ("[rules.D003]\nthreshold = true\n", "[rules.S001]\nmin-records = 2.5\n",
                 "[rules.S001]\nmin-records = -1\n", '[rules.T001]\nturns = ["answers"]\n'):
        p = _cli_with_config(tmp_path, toml)
        assert p.returncode == 2, toml
        _one_error_line(p)


def test_promise_config_unknown_problem_id_is_exit_2(tmp_path):
    p = _cli_with_config(tmp_path, '[rules.F010]\nproblem = "wrong-typ"\n')
    assert p.returncode == 2
    line = _one_error_line(p)
    assert "'problem'" in line and "did you mean 'wrong-type'" in line


def test_promise_rule_pack_param_errors_are_exit_2(tmp_path):
    """The same validation for rules a pack declares (YAML), naming the pack and the rule."""
    pack = tmp_path / "house.yaml"
    toml = 'rule-packs = ["house.yaml"]\nextend-select = ["X"]\n'
    for params, want in (("{problem: [missing-key, no-such-problem]}", "no-such-problem"),
                         ("{threshold: high}", "threshold")):
        knd = "schema" if "problem" in params else "near-duplicate"
        pack.write_text(f"rules:\n  - code: X001\n    name: x\n    kind: {knd}\n    message: m\n    params: {params}\n")
        p = _cli_with_config(tmp_path, toml)
        assert p.returncode == 2, p.stderr
        line = _one_error_line(p)
        assert "house.yaml" in line and "X001" in line and want in line


def test_explain_shows_parameter_types_and_ranges():
    p = run_cli("explain", "D003")
    assert p.returncode == 0
    assert "threshold = 0.9  (number from 0 to 1" in p.stdout


def test_every_builtin_rule_parameter_is_typed_and_valid():
    from tunelint.checks import KINDS, load_all
    from tunelint.checks.base import Param
    from tunelint.rules import builtin_pack

    load_all()
    for r in builtin_pack().rules:
        cls = KINDS[r.kind]
        cls.validate_params(r.params)  # raises on a wrong built-in default
        for k in r.params:
            assert isinstance(cls.param_spec(k), Param), (r.code, k)


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=8), st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
                    st.dictionaries(st.text(max_size=4), st.one_of(st.text(max_size=4), st.integers()), max_size=2))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_promise_any_param_value_is_a_config_error_or_a_clean_run(data):
    """Whatever value a config gives any built-in rule's parameter: a ConfigError at load, or a
    run that completes (no TypeError deep in a check)."""
    from tunelint.config import ConfigError, load_config
    from tunelint.engine import FileRun
    from tunelint.rules import RuleError, builtin_pack

    rules = [r for r in builtin_pack().rules if r.params and r.kind != "expectation"]
    rule = data.draw(st.sampled_from(rules))
    key = data.draw(st.sampled_from(sorted(rule.params)))
    value = data.draw(_VALUES)
    try:
        cfg = load_config(data={"select": [rule.code], "rules": {rule.code: {key: value}}})
    except ConfigError:
        return
    try:
        FileRun(str(DEMO), cfg).run()
    except RuleError:
        pass  # a kind's own load-time check (e.g. an empty 'swap'): exit 2 in the CLI


def test_a_kind_gets_only_the_hooks_of_its_declared_views():
    from tunelint.checks.base import Check, DatasetCheck, RecordCheck, TurnCheck

    with pytest.raises(TypeError, match="subclass RecordCheck"):
        type("Sneaky", (Check,), {"check_record": lambda self, rec, ctx: ()})
    with pytest.raises(TypeError, match="subclass DatasetCheck"):
        type("Sneaky", (TurnCheck,), {"observe": lambda self, rec, ctx: None})
    type("Fine", (RecordCheck, DatasetCheck), {"check_record": lambda *a: (), "observe": lambda *a: None})


def test_file_context_shared_state_is_made_once_per_key():
    from tunelint.checks.base import FileContext

    ctx = FileContext("p", "chat", None)
    made = []
    a = ctx.shared("k", lambda: made.append(1) or {"n": 1})
    b = ctx.shared("k", lambda: made.append(2) or {"n": 2})
    assert a is b and made == [1]
    assert ctx.shared("other", list) == [] and ctx.active_kinds(("x",)) == {"x"}


def test_public_engine_api_state_adopt_merge_equals_one_pass(tmp_path):
    """FileRun.state/adopt/merge (what --jobs and other engines use) give one pass's findings."""
    from tunelint.config import load_config
    from tunelint.engine import FileRun, FileStats

    core = FIXTURES / "core"
    data = (core / "chat_bad.jsonl").read_bytes() + (core / "chat_ok.jsonl").read_bytes() * 3
    big = tmp_path / "big.jsonl"
    big.write_bytes(data * 20)
    cfg = load_config(data={})
    key = lambda d: (d.line, d.code, d.message)  # noqa: E731
    whole = sorted(map(key, FileRun(str(big), cfg, display_path="v").run()))
    raw = big.read_bytes()
    cut = raw.index(b"\n", len(raw) // 2) + 1
    parts, diags = [], []
    for rng in ((0, cut, 1), (cut, len(raw), raw[:cut].count(b"\n") + 1)):
        run = FileRun(str(big), cfg, display_path="v", byte_range=rng, fmt="chat")
        for ev in run.events():
            diags.extend(ev.diagnostics)
        parts.append(run.state())
    final = FileRun(str(big), cfg, display_path="v")
    stats = FileStats("v", format="chat")
    final.adopt(parts[0], stats)
    final.merge(parts[1])
    diags.extend(final.finish())
    assert sorted(map(key, diags)) == whole


def test_lint_sinks_see_every_record_once():
    from tunelint.config import load_config
    from tunelint.engine import Sink, lint

    class Count(Sink):
        def __init__(self):
            self.files, self.records, self.ended = [], 0, False

        def start_file(self, run):
            self.files.append(run.display)

        def record(self, rec, run):
            self.records += 1

        def end(self):
            self.ended = True

    s = Count()
    res = lint([str(DEMO)], load_config(data={}), sinks=[s])
    assert s.ended and len(s.files) == 1 and s.records == res.files[0].parsed > 0


def _internal_imports(path: Path) -> set[str]:
    """Modules of tunelint a file imports at module level (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    out = set()
    pkg = path.relative_to(SRC.parent).with_suffix("").parts[:-1]
    for node in tree.body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks import nothing at run time
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                out.add(".".join(base + ((node.module,) if node.module else ())))
            elif node.module and node.module.startswith("tunelint"):
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("tunelint")}
    return out


def test_contract_modules_import_no_cycle():
    """checks/base.py and the diagnostic model import only the model: nothing can import them
    back into a cycle."""
    assert _internal_imports(SRC / "diagnostic.py") <= {"tunelint.model.diagnostic"}
    assert _internal_imports(SRC / "checks" / "base.py") == {"tunelint.diagnostic", "tunelint.model.errors"}
    graph = _import_graph()  # functions included
    for name, deps in graph.items():
        if name.startswith("tunelint.model"):
            assert all(d.startswith("tunelint.model") for d in deps), (name, deps)
    assert {"tunelint.model.diagnostic", "tunelint.model.record"} <= set(graph)


def test_every_user_error_is_one_exit_2_line(tmp_path):
    """Errors the user can fix share one base (model.errors.UserError), which the CLI prints as
    one line: a missing path, a config error, a directory with no dataset files."""
    from tunelint.config import ConfigError
    from tunelint.model.errors import UserError
    from tunelint.rules import RuleError

    assert issubclass(ConfigError, UserError) and issubclass(RuleError, UserError)
    (tmp_path / "empty").mkdir()
    for args in (("check", "no-such-file.jsonl"), ("check", "empty"), ("check", "--config", "nope.toml", "empty")):
        p = run_cli(*args, cwd=tmp_path)
        assert p.returncode == 2, args
        assert _one_error_line(p).startswith("tunelint: error: "), args


def test_no_module_imports_another_modules_private_names():
    """Modules talk through public names only (a private name may change without notice)."""
    bad = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("tunelint")):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        bad.append(f"{path.relative_to(SRC)}: from {'.' * node.level}{node.module or ''} import {a.name}")
    assert bad == []


def test_sinks_give_the_same_rows_with_jobs(monkeypatch, tmp_path):
    """report's feature table and --profile's style rows come from the check's own pass, also
    when the file is split over processes: the forks' rows merge into what one pass gives."""
    import tunelint.parallel as tp
    from tunelint.config import load_config
    from tunelint.engine import lint
    from tunelint.features import collect
    from tunelint.style_features import StyleRows

    core = FIXTURES / "core"
    big = tmp_path / "big.jsonl"
    big.write_bytes(((core / "chat_bad.jsonl").read_bytes() + (core / "chat_ok.jsonl").read_bytes()) * 30)
    monkeypatch.setattr(tp, "MIN_PARALLEL_BYTES", 1000)
    cfg = load_config(data={})
    a_fc, a = collect([str(big)], cfg, parallel=False, jobs=1)
    b_fc, b = collect([str(big)], cfg, parallel=False, jobs=2)
    assert a.diagnostics == b.diagnostics and len(a_fc) == len(b_fc) > 0
    assert a_fc.data == b_fc.data and a_fc.longest == b_fc.longest and a_fc.role_tokens == b_fc.role_tokens
    rows = []
    for jobs in (1, 2):
        s = StyleRows(cfg, tokens=True)
        lint([str(big)], cfg, jobs=jobs, sinks=[s])
        rows.append((s.turn_rows, s.rec_rows))
    assert rows[0] == rows[1] and rows[0][0]


def _module_names() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        parts = p.relative_to(SRC.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _import_graph() -> dict[str, set[str]]:
    """Module -> the tunelint modules it imports anywhere in its code (functions included; not
    under ``if TYPE_CHECKING:``). ``from pkg import sub`` is an edge to the submodule; a parent
    package that Python imports implicitly is not an edge. The kind registry's table of kind
    modules counts as imports (it imports them by name)."""
    mods = _module_names()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                for n in ast.walk(node)}
        edges = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("tunelint")):
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module
                for a in node.names:
                    edges.add(f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base)
            elif isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in mods}
        graph[name] = {e for e in edges if e in mods and e != name}
    from tunelint.checks.registry import KIND_MODULES

    graph["tunelint.checks.registry"] |= {f"tunelint.checks.{m}" for m in KIND_MODULES.values()}
    return graph


def test_the_internal_import_graph_has_no_cycle():
    """No module of tunelint imports, directly or through others (lazily inside functions
    too), a module that imports it back: the layers are model < reader/formats/checks.base <
    kinds < config/rules < engine < parallel/fixes/report/cli."""
    graph = _import_graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w)
        stack.pop()
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v)
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_the_kind_registry_names_every_kind_and_imports_lazily():
    import subprocess
    import sys

    from tunelint.checks.base import KINDS
    from tunelint.checks.registry import KIND_MODULES, load_all

    load_all()
    builtin = {k: c.__module__.rsplit(".", 1)[1] for k, c in KINDS.items() if c.__module__.startswith("tunelint.checks.")}
    assert KIND_MODULES == builtin
    # importing the package, the registry or the engine imports no kind module
    code = ("import sys, tunelint.checks, tunelint.engine; "
            "print(sorted(m for m in sys.modules if m.startswith('tunelint.checks.') and m not in "
            "('tunelint.checks.base', 'tunelint.checks.registry')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_small_debts_stay_paid():
    """One BOM constant (model.markers), one selector matcher (rules.selects), one 64-bit
    blake2b helper module (model.hashing)."""
    bom = [p for p in SRC.rglob("*.py") if "\\xef\\xbb\\xbf" in p.read_text()]
    assert [p.relative_to(SRC).as_posix() for p in bom] == ["model/markers.py"]
    sel = [p for p in SRC.rglob("*.py") if '== "ALL" or' in p.read_text()]
    assert [p.relative_to(SRC).as_posix() for p in sel] == ["rules.py"]
    b2 = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py") if "digest_size=8" in p.read_text()]
    assert b2 == ["model/hashing.py"]


def test_chat_alternation_is_reachable_from_the_config(tmp_path):
    """F014's chat-require-alternation reaches the normalizer (it was an option nothing set)."""
    from tunelint.config import load_config
    from tunelint.engine import FileRun

    p = tmp_path / "c.jsonl"
    p.write_text('{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, '
                 '{"role": "assistant", "content": "c"}]}\n')
    codes = lambda cfg: [d.code for d in FileRun(str(p), cfg).run()]  # noqa: E731
    assert "F014" not in codes(load_config(data={"select": ["F014"]}))
    assert "F014" in codes(load_config(data={"select": ["F014"], "rules": {"F014": {"chat-require-alternation": True}}}))
