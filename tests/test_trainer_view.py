"""Sequence length sources, the default limit, `tunelint targets`, and the trainer-view rules on
fixtures built for them (they fire there and stay quiet on clean data)."""
from __future__ import annotations

import json
import sys

import pytest

from tunelint.cli import main
from tunelint.config import ConfigError, load_config

pytest.importorskip("jinja2")


def run(args, capsys):
    code = 0
    try:
        main(args)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _write(path, objs):
    path.write_text("".join(json.dumps(o) + "\n" for o in objs))
    return str(path)


def test_trainer_configs_give_the_sequence_length(tmp_path):
    for name, text, key in (("axolotl.yml", "base_model: x\nsequence_len: 4096\n", "sequence_len"),
                            ("llamafactory.yaml", "cutoff_len: 2048\ntemplate: qwen\n", "cutoff_len"),
                            ("trl.yaml", "max_length: 1024\n", "max_length")):
        p = tmp_path / name
        p.write_text(text)
        cfg = load_config(isolated=True, trainer_config=str(p))
        assert cfg.target.max_tokens == int(text.split(key + ": ")[1].split()[0])
        assert cfg.target.limit_source == f"{name} {key}"
    # the command line wins over the trainer config, which wins over the config file
    p = tmp_path / "axolotl.yml"
    assert load_config(isolated=True, trainer_config=str(p), max_seq_len=100).target.max_tokens == 100
    assert load_config(data={"max-seq-len": 7}, trainer_config=str(p)).target.max_tokens == 4096
    bad = tmp_path / "bad.yaml"
    bad.write_text("sequence_len: lots\n")
    with pytest.raises(ConfigError, match="sequence_len must be a positive integer"):
        load_config(isolated=True, trainer_config=str(bad))
    none = tmp_path / "none.yaml"
    none.write_text("learning_rate: 1e-4\n")
    with pytest.raises(ConfigError, match="no sequence length"):
        load_config(isolated=True, trainer_config=str(none))


def test_trainer_config_names_a_local_model_folder(tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "tokenizer.json").write_text("{}")
    p = tmp_path / "axolotl.yml"
    p.write_text("base_model: my-model\nsequence_len: 512\n")
    assert load_config(isolated=True, trainer_config=str(p)).target.tokenizer == str(model)


def test_default_limit_catches_a_70k_token_record(tmp_path, capsys):
    long = " ".join(["word"] * 70_000)
    f = _write(tmp_path / "long.jsonl", [{"messages": [{"role": "user", "content": "Summarize"},
                                                       {"role": "assistant", "content": long + " " + long}]}])
    code, out, _ = run(["check", f, "--isolated", "--select", "L001"], capsys)
    assert code == 1 and "L001" in out and "default limit is 131,072" in out


def test_targets_lists_open_models_and_licences(capsys):
    code, out, _ = run(["targets", "--isolated"], capsys)
    assert code == 0
    for name in ("qwen2.5", "qwen3", "llama-3.1", "gemma-3", "mistral-nemo", "together", "bedrock", "vertex",
                 "mistral-platform"):
        assert name in out
    llama = next(line for line in out.splitlines() if line.startswith("llama-3.1"))
    assert "bring your own tokenizer.json" in llama and "licence" in llama
    gpt = next(line for line in out.splitlines() if line.startswith("gpt-4o "))
    assert "closed to new fine-tuning jobs from 2027-01-06" in gpt


def test_own_tokenizer_targets_say_the_count_is_approximate(tmp_path, capsys):
    f = _write(tmp_path / "a.jsonl", [{"messages": [{"role": "user", "content": "Hi " * 50},
                                                    {"role": "assistant", "content": "Hello " * 50}]}])
    code, out, _ = run(["check", f, "--isolated", "--select", "L001", "--target", "llama-3.1", "--max-seq-len", "20"], capsys)
    assert code == 1 and "approximate (cl100k_base)" in out


CLEAN = [{"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]},
         {"instruction": "Name a color.", "input": "", "output": "Blue."}]


@pytest.mark.parametrize("tok", ["builtin:qwen2.5", "builtin:qwen3"])
def test_trainer_rules_quiet_on_clean_data(tmp_path, capsys, tok):
    f = _write(tmp_path / "clean.jsonl", CLEAN[:1] * 3)
    code, out, err = run(["check", f, "--isolated", "--select", "L004,L005,L006,L007", "--tokenizer", tok], capsys)
    assert code == 0, out + err
    g = _write(tmp_path / "alpaca.jsonl", CLEAN[1:] * 3)
    code, out, err = run(["check", g, "--isolated", "--select", "L", "--tokenizer", tok], capsys)
    assert code == 0, out + err


def test_trainer_rules_silent_without_a_tokenizer(tmp_path, capsys):
    f = _write(tmp_path / "a.jsonl", [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": None}]}])
    code, out, _ = run(["check", f, "--isolated", "--select", "L004,L005,L006,L007", "--max-seq-len", "1"], capsys)
    assert "L00" not in out


def test_sharegpt_truncates_at_a_turn_boundary(tmp_path):
    from tunelint.fixer import Fixer, FixPolicy

    conv = {"conversations": [{"from": "human", "value": "Name three colors."},
                              {"from": "gpt", "value": "Red, green and blue."},
                              {"from": "human", "value": "And three more?"},
                              {"from": "gpt", "value": "Yellow, purple and orange are three more colors people name."}]}
    src = _write(tmp_path / "sg.jsonl", [conv])
    cfg = load_config(data={"select": ["L006"], "tokenizer": "builtin:qwen2.5", "max-seq-len": 50})
    res = Fixer(cfg, FixPolicy.from_config(cfg, unsafe=True)).fix_file(src, str(tmp_path / "out.jsonl"),
                                                                         rejects=str(tmp_path / "rej.jsonl"))
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert res.input_records == res.output_records + res.rejected == 1
    assert out == [{"conversations": conv["conversations"][:2]}]


def test_drop_mode_sends_the_record_to_rejects(tmp_path):
    from tunelint.fixer import Fixer, FixPolicy

    rec = {"messages": [{"role": "user", "content": "Name three colors."},
                        {"role": "assistant", "content": "Red, green and blue are three colors that people often name first."}]}
    src = _write(tmp_path / "a.jsonl", [rec, CLEAN[0]])
    cfg = load_config(data={"select": ["L006"], "tokenizer": "builtin:qwen2.5", "max-seq-len": 40,
                            "rules": {"L006": {"fix-mode": "drop"}}})
    res = Fixer(cfg, FixPolicy.from_config(cfg, unsafe=True)).fix_file(src, str(tmp_path / "out.jsonl"),
                                                                         rejects=str(tmp_path / "rej.jsonl"))
    assert (res.output_records, res.rejected) == (1, 1)
    assert "L006" in (tmp_path / "rej.jsonl").read_text() and "Name three colors" in (tmp_path / "rej.jsonl").read_text()


def test_profile_suggests_a_sequence_length(tmp_path, capsys):
    objs = [{"instruction": f"Say {'very ' * i}long things.", "input": "", "output": "Sure " * (i + 1)} for i in range(100)]
    f = _write(tmp_path / "p.jsonl", objs)
    code, out, _ = run(["check", f, "--isolated", "--select", "L001", "--profile", "--tokenizer", "builtin:qwen2.5"], capsys)
    assert "tokens per example" in out and "suggested sequence length" in out
    line = next(x for x in out.splitlines() if "suggested sequence length" in x)
    assert "keeps 99% of records whole (1 longer)" in line


def test_missing_extra_is_one_line(tmp_path, capsys, monkeypatch):
    from tunelint import chat

    monkeypatch.setitem(sys.modules, "tokenizers", None)
    monkeypatch.setattr(chat, "_models", {})
    d = tmp_path / "m"
    d.mkdir()
    (d / "tokenizer.json").write_text("{}")
    f = _write(tmp_path / "a.jsonl", CLEAN[:1])
    code, out, err = run(["check", f, "--isolated", "--select", "L001", "--tokenizer", str(d)], capsys)
    assert code == 2 and err.count("\n") == 1 and "pip install 'tunelint[hf]'" in err


# -- properties: any input, with a model tokenizer and a short sequence length -------------------
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from strategies import dumps, format_names, mutate_obj, records, write  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(obj=records() | records().flatmap(mutate_obj))
def test_trainer_view_never_fails_and_bounds_hold(obj):
    """Generated and mutated records of every format: rendering, counting, spans and the prefix
    check never raise (a template failure is a finding), and the byte bound that lets records
    skip encoding is never below the exact count."""
    from tunelint import chat
    from tunelint.formats import Normalizer, Record, detect

    rec = Record(path="x.jsonl", line=1, column=1, index=0, obj=obj, data=json.dumps(obj).encode())
    try:
        Normalizer().normalize(rec, detect(obj))
    except Exception:  # the normalizer's own robustness is the F rules' tests'
        assume(False)
    for spec in ("builtin:qwen2.5", "builtin:qwen3"):
        model = chat.load(spec)
        v = chat.view(rec, model)
        assert v.error is None or isinstance(v.error, str)
        for side in v.sides:
            n = side.count()
            b = side.bound()
            assert b is None or b >= n
            for _, start, end in side.spans():
                assert 0 <= start <= end
            why = chat.prefix_problem(side)
            assert why is None or isinstance(why, str)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(objs=format_names().flatmap(lambda f: st.lists(records(f), min_size=1, max_size=8)))
def test_trainer_fixes_lose_nothing(tmp_path_factory, objs):
    """fix with L006 (truncate) and L007 (drop) on records of every format: records in =
    written + rejected; a second fix changes nothing."""
    from tunelint.fixer import Fixer, FixPolicy

    lines = [dumps(o) for o in objs]
    d = tmp_path_factory.mktemp("tvfix")
    src = write("jsonl", d, lines)
    cfg = load_config(data={"select": ["L006", "L007"], "tokenizer": "builtin:qwen2.5", "max-seq-len": 40})
    fixer = Fixer(cfg, FixPolicy.from_config(cfg, unsafe=True))
    res = fixer.fix_file(str(src), str(d / "out.jsonl"), rejects=str(d / "rej.jsonl"))
    if res.skipped is not None:
        return
    assert res.input_records == res.output_records + res.rejected
    res2 = fixer.fix_file(str(d / "out.jsonl"), str(d / "out2.jsonl"), rejects=str(d / "rej2.jsonl"))
    assert res2.rejected == 0 and (d / "out2.jsonl").read_bytes() == (d / "out.jsonl").read_bytes()


def test_report_counts_with_the_chosen_tokenizer(tmp_path, capsys):
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    f = _write(tmp_path / "r.jsonl", CLEAN[:1] * 3)
    html = tmp_path / "r.html"
    code, out, err = run(["report", f, "--isolated", "--tokenizer", "builtin:qwen2.5"], capsys)
    assert code == 0, err
    assert "builtin:qwen2.5 with its chat template" in out
    # 3 records of 39 tokens each under Qwen2.5's template (default system prompt included)
    assert "training tokens per epoch: 117 " in out
    code, _, err = run(["report", f, "--isolated", "--tokenizer", "builtin:qwen2.5", "--html", str(html)], capsys)
    assert code == 0, err
    assert "builtin:qwen2.5 with its chat template" in html.read_text()
