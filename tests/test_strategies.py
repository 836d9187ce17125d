"""The shared strategies themselves: a valid record of every format is detected as that format and
normalizes without a structural problem; every container writer gives a file the reader reads back."""
from hypothesis import HealthCheck, given, settings, strategies as st

from strategies import FORMATS, CONTAINERS, datasets, dumps, mutate_obj, records, write
from tunelint import formats, reader

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SETTINGS
@given(st.sampled_from(sorted(FORMATS)).flatmap(lambda f: st.tuples(st.just(f), records(f))))
def test_valid_records_are_valid(case):
    fmt, obj = case
    assert formats.detect(obj) == fmt
    rec = formats.Record(path="x", line=1, column=1, index=0, obj=obj, data=dumps(obj))
    formats.Normalizer().normalize(rec, fmt)
    assert rec.problems == [], (obj, rec.problems)
    assert rec.turns


@SETTINGS
@given(records().flatmap(mutate_obj))
def test_mutations_serialize(obj):
    assert dumps(obj)


@SETTINGS
@given(st.sampled_from(sorted(CONTAINERS)), datasets(mutate=0))
def test_containers_read_back(tmp_path, container, lines):
    path = write(container, tmp_path, lines, stem="c")
    n = sum(1 for ln in lines if ln.strip())
    chunks = [c for c in reader.Source(str(path)) if isinstance(c, reader.Chunk) and c.data.strip()]
    assert not [c for c in reader.Source(str(path)) if isinstance(c, reader.FileProblem)]
    assert len(chunks) == n
