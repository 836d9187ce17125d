"""`tunelint report`: the HTML page's content, the feature table, the cost estimate, errors."""
from __future__ import annotations

import json
import os
import re

import pytest

from tunelint.cli import main
from tunelint.config import load_config
from tunelint.features import collect

HERE = os.path.dirname(__file__)
CHAT = os.path.join(HERE, "..", "fixtures", "report", "chat.jsonl")


def run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
        raise SystemExit(0)
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    out = d / "r.html"
    try:
        main(["report", CHAT, "--isolated", "--html", str(out), "--max-tokens", "1000", "--epochs", "2"])
    except SystemExit as e:
        assert not e.code
    return out.read_text(encoding="utf-8")


def test_feature_table_counts(tmp_path):
    fc, res = collect([CHAT], load_config(data={"select": ["D001"]}))
    df = fc.frame()
    assert len(df) == 64 == res.files[0].records
    assert df["is_duplicate"].sum() == 1 and df.loc[df["is_duplicate"] == 1, "line"].tolist() == [61]
    assert df["answer_empty"].sum() == 1 and df.loc[df["answer_empty"] == 1, "line"].tolist() == [64]
    assert set(df["roles"]) == {"assistant,system,user", "assistant,user"}
    # tokens: the whole example with chat overhead is more than the turns' text
    row = df.iloc[0]
    assert row["tokens"] > row["system_tokens"] + row["prompt_tokens"] + row["answer_tokens"] > 0
    from tunelint import tokens
    from tunelint.formats import Normalizer, Record

    rec = Record("x", 1, 1, 0, json.loads(open(CHAT).readline()), b"")
    Normalizer().normalize(rec, "chat")
    assert row["tokens"] == tokens.count_record(rec, load_config(data={}).target)
    assert sum(fc.role_turns.values()) == int(df["turns"].sum())
    assert fc.longest[0][2] == 63  # the long essay
    # style columns are the last answer's full features
    assert df.loc[df["answer_empty"] == 0, "sentences"].min() >= 1
    assert df.loc[df["line"] == 1, "sentences"].item() == 3 and df.loc[df["line"] == 1, "end"].item() == "."


def test_html_is_self_contained_and_escaped(page):
    assert page.startswith("<!DOCTYPE html>")
    # no scripts, no external resources, no fetchable URLs
    assert "<script" not in page  # the record text "<script>alert(1)</script>" is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", page)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)  # only in-page references
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "SVG ids must be unique across the page's plots"
    assert page.count("<svg") >= 5


def test_html_sections_and_numbers(page):
    for sec in ("summary", "tokens", "findings", "duplicates", "terms", "style"):
        assert f"id='{sec}'" in page
    assert "64</b><span>records" in page
    assert "limit 1,000" in page  # the target's limit drawn on the histogram
    assert "Example prices" in page and "2 epoch(s)" in page
    # findings by family and code, generic over whatever rules ran
    assert "D duplicates/conflicts/leakage" in page and "<code>D001</code>" in page
    assert "C001" in page and "empty" in page
    # the duplicate cluster: line 61 copies line 4
    assert re.search(r"<td class='n'>2</td><td>[^<]*D001[^<]*</td><td><code>[^<]*chat.jsonl</code>: 4, 61", page)


def test_cost_uses_price_table_and_epochs(tmp_path, capsys):
    prices = tmp_path / "p.toml"
    prices.write_text('[prices]\n"my-model" = 1000000.0\n')
    code, out, err = run(["report", CHAT, "--isolated", "--price-table", str(prices), "--epochs", "2"], capsys)
    assert code == 0
    toks = int(re.search(r"training tokens per epoch: ([\d,]+)", out).group(1).replace(",", ""))
    assert toks > 1000
    # 1,000,000 USD per 1M tokens -> $1 per token, twice
    assert f"${toks * 2:,.2f}" in out and "my-model" in out and "gpt-4o" not in out


@pytest.mark.parametrize("content,expect", [
    ('{"gpt": "cheap"}', "non-negative number"),
    ("not json", "invalid price table"),
])
def test_bad_price_table_is_a_clear_error(tmp_path, capsys, content, expect):
    p = tmp_path / "p.json"
    p.write_text(content)
    code, out, err = run(["report", CHAT, "--isolated", "--price-table", str(p)], capsys)
    assert code == 2 and expect in err and "Traceback" not in err


def test_features_file(tmp_path, capsys):
    f = tmp_path / "f.jsonl"
    code, out, err = run(["report", CHAT, "--isolated", "--features", str(f)], capsys)
    assert code == 0 and "64 rows" in err
    rows = [json.loads(x) for x in f.read_text().splitlines()]
    assert len(rows) == 64 and {"tokens", "label", "is_duplicate", "words"} <= set(rows[0])


def test_missing_input_is_a_clear_error(capsys):
    code, out, err = run(["report", "nope.jsonl", "--html", "x.html"], capsys)
    assert code == 2 and "nope.jsonl" in err


def test_worker_process_token_counts_equal_serial_counts():
    import pickle

    cfg = load_config(data={"select": ["F001"]})
    a, _ = collect([CHAT], cfg, parallel=False)
    b, _ = collect([CHAT], cfg, parallel=True)
    assert a.frame().equals(b.frame())
    assert a.role_tokens == b.role_tokens and a.longest == b.longest
    c = pickle.loads(pickle.dumps(b))  # --jobs sends collectors between processes
    assert c.frame().equals(a.frame())
