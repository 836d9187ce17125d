"""Near-duplicates, near-conflicts and leakage (D003-D007) and the MinHash LSH behind them."""
from __future__ import annotations

import json
import os
import random

import pytest

from tunelint import minhash
from conftest import run_cli
from tunelint.config import load_config
from tunelint.engine import FileRun

D = ["D001", "D002", "D003", "D004", "D005", "D006", "D007"]


def alp(i, inp="", o=""):
    return json.dumps({"instruction": i, "input": inp, "output": o})


def run(tmp_path, lines, select=D, name="train.jsonl", **cfg):
    p = tmp_path / name
    p.write_text("".join(x + "\n" for x in lines))
    return FileRun(str(p), load_config(data={"select": select, **cfg}), display_path=name).run()


def codes(diags):
    return sorted((d.code, d.line) for d in diags)


WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu river stone cloud paper glass "
         "music garden window silver forest candle orange planet bridge").split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def test_short_texts_do_not_collide_through_empty_signatures(tmp_path):
    # one-word, punctuation-only and empty texts: nothing near-duplicates anything
    recs = [alp(w, "", w[::-1]) for w in WORDS] + [alp("?", "", "!"), alp("!!", "", "?"), alp("...", "", "")]
    diags = run(tmp_path, recs)
    assert [d for d in diags if d.code in ("D003", "D004", "D005", "D006")] == []
    buf, ends = minhash.encode_batch(["a", "b", "?", "!", "", "a"])
    sig, has = minhash.signatures(buf, ends)
    assert has.tolist() == [True, True, False, False, False, True]
    keys = minhash.band_keys(sig)
    assert (keys[0] == keys[5]).all()  # the same one-word text: same signature
    assert not (keys[0] == keys[1]).any()  # different one-word texts: no band in common


def test_cluster_points_to_representative_with_similarity(tmp_path):
    base = "Give three tips for staying healthy and fit during a long winter."
    ans = "Eat well, sleep at least eight hours and exercise outside every single day."
    recs = [alp(base, "", ans), alp("Describe the water cycle.", "", "Water evaporates, condenses and falls."),
            alp(base.upper(), "", ans.replace(",", "")), alp(base.rstrip("."), "", ans.replace("single ", ""))]
    diags = [d for d in run(tmp_path, recs) if d.code == "D003"]
    assert [d.line for d in diags] == [3, 4]
    for d in diags:
        assert 1 in d.related and "line 1" in d.message and "%" in d.message
        assert d.fix is not None and d.fix.applicability == "unsafe"
    assert "cluster of 3 records" in diags[0].message


def test_exact_duplicates_and_exact_prompts_are_not_reported_again(tmp_path):
    r = alp("Name the largest planet in the solar system.", "", "Jupiter is the largest planet.")
    r2 = alp("Name the largest planet in the solar system.", "", "Jupiter is the largest planet!")
    diags = run(tmp_path, [r, r, r2])
    assert codes(diags) == [("D001", 2), ("D002", 3)]


def test_prompt_near_duplicates_split_into_reworded_and_conflicting(tmp_path):
    recs = [alp("What is the capital city of Australia?", "", "The capital of Australia is Canberra."),
            alp("what is the capital city of australia", "", "Australia's capital city is Canberra, not Sydney."),
            alp("What is the capital city of Australia", "", "Sydney"),
            alp("Classify the animal.", "cat", "mammal"), alp("Classify the animal.", "dog", "reptile")]
    got = codes(run(tmp_path, recs))
    assert ("D004", 2) in got and ("D006", 3) in got
    assert not [c for c in got if c[1] in (4, 5)]  # different inputs: not the same question


def test_same_answer_to_different_wording(tmp_path):
    ans = "The Great Wall of China is a series of fortifications built across northern China over centuries."
    recs = [alp("Tell me about the Great Wall.", "", ans), alp("What is the Great Wall of China?", "", ans),
            alp("Is it sunny?", "", "Yes."), alp("Is the sea salty?", "", "Yes.")]
    got = codes(run(tmp_path, recs))
    assert got == [("D005", 2)]


def test_preference_records_are_exempt_from_near_conflicts(tmp_path):
    def pref(p, c, r):
        return json.dumps({"prompt": p, "chosen": c, "rejected": r})

    recs = [pref("Write a haiku about autumn leaves falling.", "Leaves drift down slowly", "no"),
            pref("Write a haiku about autumn leaves falling!", "Red maple whispers", "nope")]
    assert not [d for d in run(tmp_path, recs) if d.code in ("D004", "D006")]


def test_leakage_cli_and_config(tmp_path):
    train = [alp("Explain how a rainbow forms in the sky.", "", "Sunlight is refracted and reflected in raindrops."),
             alp("List three prime numbers.", "", "2, 3 and 5.")]
    valid = [alp("Write a limerick about a cat.", "", "There once was a cat from Peru..."),
             alp("Explain how a rainbow forms in the sky!", "", "Sunlight is refracted and reflected inside raindrops."),
             alp("List three prime numbers.", "", "2, 3 and 5."),
             alp("Explain how a rainbow forms in the sky", "", "Magic.")]
    (tmp_path / "train.jsonl").write_text("".join(x + "\n" for x in train))
    (tmp_path / "valid.jsonl").write_text("".join(x + "\n" for x in valid))
    res = run_cli("check", str(tmp_path / "train.jsonl"), "--against", str(tmp_path / "valid.jsonl"),
                  "--select", "D007", "--output-format", "json")
    out = json.loads(res.stdout)
    diags = out["diagnostics"] if isinstance(out, dict) else out
    got = sorted((d["path"].rsplit("/", 1)[-1], d["line"]) for d in diags)
    assert got == [("valid.jsonl", 2), ("valid.jsonl", 3), ("valid.jsonl", 4)], res.output
    msgs = {d["line"]: d["message"] for d in diags}
    assert "exact duplicate" in msgs[3] and "line 2" in msgs[3]
    assert "line 1" in msgs[2] and "%" in msgs[2]
    assert "same question" in msgs[4]
    # config form, relative to the config's directory
    cfg = load_config(data={"select": ["D007"], "against": [str(tmp_path / "valid.jsonl")], "rules": {"D007": {"prompt-only": False}}})
    d2 = FileRun(str(tmp_path / "train.jsonl"), cfg).run()
    assert sorted(d.line for d in d2) == [2, 3]
    assert all(d.path.endswith("valid.jsonl") and d.related for d in d2)


def test_recall_on_perturbed_records():
    """LSH must find most pairs that differ by one word (rapidfuzz then confirms them)."""
    rng = random.Random(7)
    base = [sentence(rng, rng.randint(8, 40)) for _ in range(300)]
    pert = []
    for s in base:
        w = s.split()
        w[rng.randrange(len(w))] = rng.choice(WORDS)
        pert.append(" ".join(w))
    buf, ends = minhash.encode_batch(base + pert)
    sig, has = minhash.signatures(buf, ends)
    pairs = set(minhash.candidate_pairs(minhash.band_keys(sig), has).tolist())
    n = len(base) * 2
    found = sum(1 for i in range(len(base)) if i * n + (i + len(base)) in pairs)
    assert found >= 0.85 * len(base), found
    assert len(pairs) < 3 * n  # candidates stay linear, not all pairs


@pytest.mark.parametrize("child", ["finishes", "fails", "finds nothing"])
def test_jobs_merge_gives_the_same_result(tmp_path, monkeypatch, child):
    """--jobs: merged state, the near-duplicate analysis finished in a forked child (its
    diagnostics are the ones reported; when it fails the parent finishes those checks itself)."""
    from tunelint import parallel

    if child == "fails":
        monkeypatch.setattr(parallel, "_child_finish", lambda probe, apart: 1 / 0)
    elif child == "finds nothing":
        monkeypatch.setattr(parallel, "_child_finish", lambda probe, apart: [])

    rng = random.Random(3)
    recs = []
    for i in range(400):
        s = sentence(rng, 12)
        recs.append(alp(s, "", sentence(rng, 10)))
        if i % 20 == 0:
            recs.append(alp(s + "!", "", sentence(rng, 10)))
    p = tmp_path / "big.jsonl"
    p.write_text("".join(x + "\n" for x in recs))
    cfg = load_config(data={"select": D})
    serial = codes(FileRun(str(p), cfg).run())
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    par, _ = parallel.run_parallel(str(p), cfg, 2)
    if child == "finds nothing":
        assert serial and codes(par) != serial and not any(c in ("D003", "D004", "D005", "D006") for c in codes(par))
    else:
        assert serial and codes(par) == serial


@pytest.mark.parametrize("name", ["train.json", "train.jsonl.gz"])
def test_json_array_and_gzip_inputs(tmp_path, name):
    import gzip

    recs = [{"instruction": "Summarize the plot of Hamlet in one line.", "input": "", "output": "A prince avenges his father."},
            {"instruction": "Summarize the plot of Hamlet in one line!", "input": "", "output": "A prince avenges his father!"}]
    p = tmp_path / name
    if name.endswith(".gz"):
        p.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in recs).encode()))
    else:
        p.write_text(json.dumps(recs, indent=1))
    diags = [d for d in FileRun(str(p), load_config(data={"select": D})).run() if d.code == "D003"]
    assert len(diags) == 1 and diags[0].related


def test_same_prompt_and_answer_with_other_metadata_is_a_near_duplicate(tmp_path):
    # neither D001 (the ids differ) nor D002 (the answers agree): D003 reports it
    def sg(i, q, a):
        return json.dumps({"id": i, "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]})

    diags = run(tmp_path, [sg("a", "Hello there", "Hi! How can I help?"), sg("b", "Hello there", "Hi! How can I help?"),
                           sg("c", "Hello there", "Go away.")])
    got = codes(diags)
    assert ("D003", 2) in got and ("D002", 3) in got and not [c for c in got if c[0] in ("D001", "D004", "D006")]
    assert "100% and answer 100%" in [d for d in diags if d.code == "D003"][0].message


def test_defers_to_d001_and_d002_only_when_they_run(tmp_path):
    r = alp("Name the largest planet in the solar system.", "", "Jupiter is the largest planet.")
    r2 = alp("Name the largest planet in the solar system.", "", "Jupiter is the largest planet!")
    got = codes(run(tmp_path, [r, r, r2], select=["D003"]))
    assert got == [("D003", 2), ("D003", 3)]


def test_a_shared_long_history_does_not_make_different_questions_alike(tmp_path):
    hist = "Tell me everything about the history of the Roman Empire from its founding to its fall. " * 3

    def chat(*turns):
        roles = ["user", "assistant"] * len(turns)
        return json.dumps({"messages": [{"role": r, "content": t} for r, t in zip(roles, turns)]})

    recs = [chat(hist, "It began in 27 BC and ended in 476 AD.", "Who was the first emperor?", "Augustus."),
            chat(hist, "It began in 27 BC and ended in 476 AD.", "Why did it fall?", "Many reasons."),
            chat(hist, "Who was the first emperor of Rome?", "Augustus")]
    assert not [d for d in run(tmp_path, recs) if d.code in ("D003", "D004", "D006")]


def test_missing_against_file_is_reported_not_ignored(tmp_path):
    diags = run(tmp_path, [alp("Say hi to the team please.", "", "Hi team!")], select=["D007"],
                against=[str(tmp_path / "missing.jsonl")])
    assert [d.code for d in diags] == ["D007"] and "not found" in diags[0].message and diags[0].path.endswith("missing.jsonl")


# -- plain JSONL files: the store keeps (offset, length) and re-reads candidates -------------

MIXED = "neardup/train_mixed.jsonl"  # BOM, blank and broken lines, CRLF, invalid UTF-8, chat + tools, alpaca, dpo


def _leaky(tmp_path, fixtures, gz=False):
    """The mixed fixture (plain or gzip) and an --against file (same form) that leaks two of its records."""
    import gzip

    data = (fixtures / MIXED).read_bytes()
    lines = data.split(b"\n")
    against = b"\n".join([lines[1], lines[2].replace(b"long and cold", b"long, cold"), lines[9].replace(b"?", b"")]) + b"\n"
    wrap = gzip.compress if gz else bytes
    ext = ".jsonl.gz" if gz else ".jsonl"
    (tmp_path / ("train" + ext)).write_bytes(wrap(data))
    (tmp_path / ("valid" + ext)).write_bytes(wrap(against))
    return str(tmp_path / ("train" + ext)), str(tmp_path / ("valid" + ext))


def _same(diags):
    """Diagnostics without the file name (plain and gzip runs name different files)."""
    return sorted((d.code, os.path.basename(d.path).split(".")[0], d.line, d.message.replace(".jsonl.gz", ".jsonl"), d.related)
                  for d in diags)


@pytest.fixture
def offsets(monkeypatch):
    """Every batch of a plain file is kept as offsets (no in-memory text budget first)."""
    from tunelint import nearstate as neardup

    monkeypatch.setattr(neardup, "TEXT_BUDGET", 0)
    monkeypatch.setattr(neardup, "SMALL_CHARS", -1)  # the numpy path (a small input skips it)


def _batches(run):
    from tunelint.nearstate import _Offsets

    st = next(c.state for c in run.checks if hasattr(c, "state"))
    stores = [st.train] + [s for s in st._result[0][1:]] if st._result else [st.train]
    return [sum(isinstance(b, _Offsets) for b in s.bufs) for s in stores], [len(s.bufs) for s in stores]


def test_plain_file_reread_gives_the_same_findings_as_gzip_in_memory(tmp_path, fixtures, offsets):
    results, kept = [], []
    for gz in (False, True):
        train, valid = _leaky(tmp_path, fixtures, gz)
        run = FileRun(train, load_config(data={"select": D, "against": [valid]}))
        results.append(_same(run.run()))
        kept.append(_batches(run))
    plain, gzipped = results
    assert plain == gzipped
    got = {(c, f, line) for c, f, line, *_ in plain}
    assert {("D003", "train", 3), ("D004", "train", 6), ("D005", "train", 10), ("D006", "train", 7),
            ("D003", "train", 12), ("D003", "train", 20), ("D001", "train", 18), ("D007", "valid", 2)} <= got
    # the plain run kept offsets only (train and --against file), the gzip run kept texts
    assert kept[0][0] == kept[0][1] and all(kept[0][0]) and kept[1][0] == [0, 0]


def test_plain_file_jobs_2_gives_the_same_findings_as_jobs_1(tmp_path, fixtures, monkeypatch, offsets):
    from tunelint import parallel

    train, valid = _leaky(tmp_path, fixtures)
    cfg = load_config(data={"select": D, "against": [valid]})
    serial = _same(FileRun(train, cfg).run())
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    assert len(parallel._ranges(train, 8)) > 1  # really split into parts that are merged
    par, _ = parallel.run_parallel(train, cfg, 2)
    assert serial and _same(par) == serial


def test_store_texts_are_identical_from_offsets_and_memory_also_mixed_and_pickled(tmp_path, fixtures, offsets):
    import gzip
    import pickle

    from tunelint.nearstate import _Offsets, _Store

    data = (fixtures / MIXED).read_bytes()
    (tmp_path / "t.jsonl").write_bytes(data)
    (tmp_path / "t.jsonl.gz").write_bytes(gzip.compress(data))
    cfg = load_config(data={"select": ["F001"]})

    def records(name):
        return [ev.record for ev in FileRun(str(tmp_path / name), cfg).events() if ev.record is not None]

    plain, gz = records("t.jsonl"), records("t.jsonl.gz")
    assert len(plain) == len(gz) > 15 and all(r.offset >= 0 for r in plain) and all(r.offset == -1 for r in gz)
    memory = _Store()
    for r in gz:
        memory.add(r)
    memory.flush()
    half = len(plain) // 2
    mixed, tail = _Store(), _Store()
    mixed.path = str(tmp_path / "t.jsonl")
    for r in plain[:half]:
        mixed.add(r)
    for r in gz[half:]:
        tail.add(r)
    mixed.extend(pickle.loads(pickle.dumps(tail)))
    mixed = pickle.loads(pickle.dumps(mixed))
    assert isinstance(mixed.bufs[0], _Offsets) and not isinstance(mixed.bufs[-1], _Offsets)
    want, got = memory.texts(), mixed.texts()
    assert [got(i) for i in range(len(plain))] == [want(i) for i in range(len(plain))]
    assert any(want(i).parts for i in range(len(plain))) and not mixed.gone


def test_text_budget_keeps_the_first_batches_in_memory_then_offsets_same_findings(tmp_path, fixtures, monkeypatch):
    from tunelint import nearstate as neardup

    train, valid = _leaky(tmp_path, fixtures)
    cfg = load_config(data={"select": D, "against": [valid]})
    run = FileRun(train, cfg)
    want = _same(run.run())
    assert _batches(run)[0] == [0, 0]  # a small file: texts kept, nothing re-read
    monkeypatch.setattr(neardup, "BATCH", 4)
    monkeypatch.setattr(neardup, "TEXT_BUDGET", 1500)  # a few batches of texts, then offsets
    run = FileRun(train, cfg)
    assert _same(run.run()) == want
    kept, total = _batches(run)
    assert 0 < kept[0] < total[0]


def test_display_path_of_another_file_keeps_texts_in_memory(tmp_path, fixtures, monkeypatch):
    # the fixer checks temporary files under the original file's name: offsets must not point into it
    train, _ = _leaky(tmp_path, fixtures)
    want = _same(FileRun(train, load_config(data={"select": D})).run())
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    lines = (fixtures / MIXED).read_bytes().split(b"\n")
    (decoy / "train.jsonl").write_bytes(b"\n".join(lines[1:] + lines[:1]))  # other records at those offsets
    monkeypatch.chdir(decoy)
    run = FileRun(train, load_config(data={"select": D}), display_path="train.jsonl")
    assert _same(run.run()) == want
    assert _batches(run)[0] == [0]


def test_file_changed_after_indexing_is_reported_not_compared(tmp_path, fixtures, monkeypatch, offsets):
    from tunelint import nearstate as neardup

    monkeypatch.setattr(neardup, "BATCH", 1)  # every record is hashed (and its text dropped) as it is read
    train, _ = _leaky(tmp_path, fixtures)
    run = FileRun(train, load_config(data={"select": D}))
    for _ in run.events():
        pass
    lines = (fixtures / MIXED).read_bytes().split(b"\n")
    # every record now says something else (same lengths: only the content check can tell)
    (tmp_path / "train.jsonl").write_bytes(b"\n".join(x.replace(b"e", b"o") for x in lines))
    assert _batches(run)[0] == [22]
    diags = run.finish()
    changed = [d for d in diags if "changed on disk" in d.message]
    assert len(changed) == 1 and changed[0].line == 1 and changed[0].path == run.display
    # the records that read back differently are compared with nothing (not as equal empty texts)
    assert {(d.code, d.line) for d in diags if d not in changed} == {("D001", 18)}


def test_local_order_is_a_permutation_that_keeps_a_records_pairs_together():
    from tunelint.nearstate import _local_order

    I = [0, 0, 1, 2, 5, 5, 7]
    J = [9, 3, 9, 8, 6, 9, 8]
    got = _local_order(I, J)
    assert sorted(got) == sorted(zip(I, J))
    # the hub 9 (pairs with 0, 1 and 5) is read once and used for all its pairs in a row
    hub = [k for k, p in enumerate(got) if 9 in p]
    assert hub == list(range(hub[0], hub[0] + 3)), got


# -- small inputs: pure-Python MinHash, the same keys and findings as numpy ----------------------
def test_pure_python_band_keys_and_pairs_equal_numpy():
    from tunelint import minhash as m

    rnd = random.Random(5)
    words = "the a of Café naïve 数据 模型 x y z hello World 123 data-set fine-tune".split()
    texts = [" ".join(rnd.choice(words) for _ in range(rnd.choice([0, 1, 2, 3, 8, 60]))) + rnd.choice(["", "!", "\x00z"])
             for _ in range(1500)] + ["", "  ", "!!", "a", "A", "é"]
    buf, ends = m.encode_batch(texts)
    sig, has = m.signatures(buf, ends)
    keys = m.band_keys(sig)
    py = [m.py_band_keys(t) for t in texts]
    assert [k is not None for k in py] == has.tolist() and not all(has)
    assert [k for k in py if k is not None] == [tuple(map(int, r)) for r, h in zip(keys, has) if h]
    pairs = m.candidate_pairs(keys, has).tolist()
    assert len(pairs) > 100 and m.py_candidate_pairs(py, len(texts)) == pairs


def test_bounded_keeps_each_records_best_linked_partners_numpy_and_python_alike():
    np = pytest.importorskip("numpy")
    from tunelint import minhash as m

    rnd = random.Random(4)
    pairs = {}
    for _ in range(3000):
        i, j = sorted(rnd.sample(range(300), 2))
        pairs[(i, j)] = rnd.randint(1, 6)
    for k in (0, 1, 3, 8, 400):
        py = m.py_bounded(pairs, k)
        items = sorted(pairs.items())
        I, J, C = (np.array(x) for x in zip(*[(i, j, c) for (i, j), c in items]))
        keep = m.bounded(I, J, C, k)
        assert py == [(int(i), int(j)) for i, j in zip(I[keep], J[keep])]
        per = {}
        for i, j in py:
            per.setdefault(j, []).append(i)
        for j in {j for _, j in pairs}:
            mine = sorted(((-c, i) for (i, jj), c in pairs.items() if jj == j))
            assert sorted(per.get(j, [])) == sorted(i for _, i in mine[:k])  # the k best linked, earlier first on ties
        assert len(py) == (len(pairs) if k == 400 else len(py)) and (k or not py)


def test_candidates_are_bounded_per_record_on_templated_data(tmp_path, monkeypatch):
    """Records that all share a template: each record is verified against at most PARTNERS
    earlier records (without the bound: many more), and every record is still found (one
    verified link joins a cluster)."""
    from tunelint import nearstate

    rnd = random.Random(8)
    base = ("Write a short product description for the following item in a friendly tone, mention the price, "
            "the colour and the size, and keep it under fifty words")
    lines = [alp(f"{base}: {sentence(rnd, 2)}", "", f"A lovely {sentence(rnd, 2)} for everyone at a fair price, order "
             "today and enjoy it with your family and friends all year long") for _ in range(80)]
    real = nearstate.NearDupState._small_candidates

    def most(bound):
        seen = []

        def spy(stores, sizes):
            r = real(stores, sizes)
            seen.append(r[1])
            return r

        monkeypatch.setattr(nearstate, "PARTNERS", bound)
        monkeypatch.setattr(nearstate.NearDupState, "_small_candidates", staticmethod(spy))
        diags = run(tmp_path, lines)
        return max(seen[0].count(j) for j in set(seen[0])), {d.line for d in diags}

    k = nearstate.PARTNERS
    free, everyone = most(10_000)
    assert free > k > 0 and len(everyone) == 79
    bounded, flagged = most(k)
    assert bounded == k and flagged == everyone


def test_small_input_findings_equal_the_numpy_path(tmp_path, fixtures, monkeypatch):
    from tunelint import nearstate as neardup

    train, valid = _leaky(tmp_path, fixtures)
    cfg = load_config(data={"select": D, "against": [valid]})
    small = _same(FileRun(train, cfg).run())
    monkeypatch.setattr(neardup, "SMALL_CHARS", -1)
    assert small and _same(FileRun(train, cfg).run()) == small


def test_similarities_with_cutoff_equal_the_exact_values():
    """The verifier computes each side with rapidfuzz's cutoff first: a pair is kept exactly
    when one exact similarity reaches the floor, and a kept pair carries both exact values."""
    from tunelint.nearstate import Texts, _psim, _sim, similarities

    rnd = random.Random(11)
    words = "a b ab abc the cat sat on mat 1 2 x y".split()

    def text():
        return " ".join(rnd.choice(words) for _ in range(rnd.choice([0, 1, 3, 8, 20])))

    base = [text() for _ in range(60)]

    def variant(t):  # mostly close to t: many pairs sit near the floor
        w = t.split()
        for _ in range(rnd.choice([0, 1, 1, 2, 5])):
            if w and rnd.random() < 0.5:
                w[rnd.randrange(len(w))] = rnd.choice(words)
            else:
                w.insert(rnd.randint(0, len(w)), rnd.choice(words))
        return " ".join(w)

    kept = 0
    for _ in range(6000):
        a, b = rnd.choice(base), rnd.choice(base)
        ti = Texts([p for p in (a, variant(a))[: rnd.choice([1, 2])] if p], a)
        tj = Texts([p for p in (variant(a), variant(b))[: rnd.choice([1, 2])] if p], variant(a if rnd.random() < 0.5 else b))
        floor = rnd.choice([0.5, 0.8, 0.9, 0.95])
        ps, as_ = _psim(ti.parts, tj.parts), _sim(ti.answer, tj.answer)
        got = similarities(ti, tj, floor)
        assert got == ((ps, as_) if ps >= floor or as_ >= floor else None), (ti, tj, floor)
        kept += got is not None
    assert 1000 < kept < 5000


def test_norm_ascii_table_equals_the_regex():
    import re

    from tunelint.nearstate import _norm

    rnd = random.Random(9)
    alphabet = [chr(i) for i in range(128)] + ["é", "—", "数", "_", " ", "A"]
    texts = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30))) for _ in range(20000)]
    rx = re.compile(r"[\W_]+")
    assert [_norm(t) for t in texts] == [rx.sub(" ", t.lower()).strip() for t in texts]


def test_jobs_parts_never_share_a_records_own_prompt_key(tmp_path, monkeypatch):
    """Without D002 each record gets a prompt key of its own. It used to be its number within
    the part, so with --jobs record k of one part and record k of the next shared one, and
    the pair was taken for an exact same prompt (left to D002): no D004/D006 in parallel."""
    from tunelint import parallel

    rng = random.Random(11)
    prompts = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(40)]
    prompts[26] = prompts[5] + "?"  # the 6th record of each part: the same question
    lines = [alp(p, "", f"answer number {i} " + " ".join(rng.choice(WORDS) for _ in range(12)))
             for i, p in enumerate(prompts)]
    lines = [x.ljust(max(map(len, lines))) for x in lines]  # equal lines: the second part starts at line 22
    p = tmp_path / "train.jsonl"
    p.write_text("".join(x + "\n" for x in lines))
    cfg = load_config(data={"select": ["D003", "D004", "D005", "D006"]})
    key = lambda d: (d.code, d.line, d.message)
    serial = sorted(map(key, FileRun(str(p), cfg).run()))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    assert parallel._ranges(str(p), 2)[1][2] == 22
    par, _ = parallel.run_parallel(str(p), cfg, 2)
    assert [k[:2] for k in serial] == [("D006", 27)]  # same question, short answers that disagree
    assert sorted(map(key, par)) == serial


def test_prompt_answer_key_of_one_prompt_turn_equals_the_joined_form():
    """``prompt_answer`` builds a one-turn prompt directly: the same bytes as joining the turns."""
    from hypothesis import given, settings, strategies as st

    from tunelint.checks.duplicates import prompt_answer
    from tunelint.model.record import Record, Turn

    turn = st.builds(Turn, st.sampled_from(["user", "system", "assistant"]), st.one_of(st.none(), st.text(max_size=8)),
                     st.just("/x"), st.sampled_from(["prompt", "input", "answer", "system"]), st.just("x"),
                     st.sampled_from(["", "", "chosen", "rejected"]))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(turn, max_size=4))
    def prop(turns):
        rec = Record("x", 1, 1, 0, {}, b"{}", turns=turns)
        last = max((i for i, t in enumerate(turns) if t.kind == "answer" and not t.branch), default=None)
        got = prompt_answer(rec)
        if last is None:
            assert got is None
            return
        joined = "\x1e".join(f"{t.role}\x1f{(t.text or '').strip()}" for t in turns[:last] if not t.branch).encode()
        assert got == (joined, (turns[last].text or "").strip().encode())

    prop()
