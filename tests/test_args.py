"""The Args algebra: Lancet's semantics, reprs, laziness and our extensions."""
import io
import os
import tracemalloc
from contextlib import redirect_stdout

import pytest

import sweep as lancet
import sweep.args
from sweep.errors import SpecError


def printed(fn, *a, **k):
    buf = io.StringIO()
    with redirect_stdout(buf):
        fn(*a, **k)
    return buf.getvalue()


def test_args_keyword_form_is_constant():
    a = lancet.Args(a=2, b=3)
    assert a.specs == [{"a": 2, "b": 3}]
    assert a.constant_keys == ["a", "b"] and a.varying_keys == []
    assert a.constant_items == [("a", 2), ("b", 3)]
    assert repr(lancet.Args(a=4, b=6)) == "Args(fp_precision=4,a=4,b=6)"


def test_args_explicit_specs_and_rounding():
    a = lancet.Args([{"x": 1.123456}, {"x": 2.0}], fp_precision=2)
    assert a.specs == [{"x": 1.12}, {"x": 2.0}]
    assert lancet.Args([{"x": 1.9}], fp_precision=0).specs == [{"x": 1}]


def test_range_is_linear_inclusive_and_rounded():
    assert lancet.Range("a", 0, 1, steps=3).specs == [{"a": 0.0}, {"a": 0.5}, {"a": 1.0}]
    assert lancet.Range("a", 0, 1, steps=4).specs[1] == {"a": 0.3333}
    assert lancet.Range("a", 5, 9, steps=1).specs == [{"a": 5.0}]
    assert lancet.Range("a", 1, 3, mapfn=lambda v: v * 10).specs == [{"a": 10.0}, {"a": 30.0}]


def test_log_and_integer_ranges():
    assert [s["lr"] for s in lancet.Range("lr", 0.001, 0.1, steps=3, log=True).specs] == [0.001, 0.01, 0.1]
    assert [s["n"] for s in lancet.Range("n", 8, 32, steps=4, integer=True).specs] == [8, 16, 24, 32]
    with pytest.raises(SpecError, match=r"repeats values; use at most 4 steps"):
        lancet.Range("n", 0, 3, steps=10, integer=True)
    with pytest.raises(SpecError, match=r"a log range needs bounds > 0"):
        lancet.Range("lr", 0, 1, log=True)


def test_range_bad_input_messages():
    with pytest.raises(SpecError) as e:
        lancet.Range("a", 0, 1, steps=0)
    assert str(e.value) == "Range('a'): steps must be an integer >= 1, got 0"
    with pytest.raises(SpecError) as e:
        lancet.Range("a", "zero", 1)
    assert str(e.value) == "Range('a'): start_value must be a number, got 'zero'"


def test_product_order_and_varying_keys():
    space = lancet.List("b", [1, 2]) * lancet.Range("a", 0, 1, steps=3) * lancet.Args(c=5)
    assert len(space) == 6
    assert space.specs[:3] == [{"b": 1, "a": 0.0, "c": 5}, {"b": 1, "a": 0.5, "c": 5}, {"b": 1, "a": 1.0, "c": 5}]
    assert space.varying_keys == ["b", "a"]  # slowest first
    assert space.constant_keys == ["c"]
    assert "a" in space and "zzz" not in space
    # keys varying at the same rate are alphabetical
    linked = lancet.Args([{"y": 1, "x": 1}, {"y": 2, "x": 2}])
    assert linked.varying_keys == ["x", "y"]


def test_varying_keys_match_lancets_definition_on_mixed_spaces():
    space = (lancet.List("a", [1, 2]) + lancet.List("a", [2, 3])) * lancet.List("b", [1, 1, 2]) \
        + lancet.Args(b=9, c=1)
    # reference: Lancet's run-length definition computed from the materialized specs
    cols = {}
    for s in space.specs:
        for k, v in s.items():
            cols.setdefault(k, []).append(v)
    runs = {k: 1 + sum(1 for x, y in zip(v, v[1:]) if x != y) for k, v in cols.items()}
    varying = sorted((runs[k], k) for k in cols if len(set(cols[k])) > 1)
    assert space.varying_keys == [k for _, k in varying]
    assert space.constant_keys == sorted(k for k in cols if len(set(cols[k])) == 1)


def test_concatenate_and_identity():
    a, b = lancet.List("a", [1]), lancet.List("a", [2, 3])
    assert (a + b).specs == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert (a * lancet.Identity()).specs == a.specs and (lancet.Identity() + a).specs == a.specs
    assert len(lancet.Identity()) == 0 and not lancet.Identity()


def test_overlapping_keys_in_product_is_an_error():
    with pytest.raises(SpecError) as e:
        lancet.List("a", [1]) * lancet.Args(a=2, b=1)
    assert str(e.value) == "keys cannot overlap in a cartesian product: 'a' on both sides of *"


def test_iteration_is_one_group_as_in_lancet():
    space = lancet.List("a", [1, 2])
    assert list(space) == [[{"a": 1}, {"a": 2}]]


def test_show_and_summary_output():
    space = lancet.Range("a", 3, 4, steps=2) * lancet.List("b", [5]) * lancet.Args(d=5)
    assert printed(space.show) == "0: b=5, d=5, a=3.0\n1: b=5, d=5, a=4.0\n"
    assert printed(space.show, exclude=["d"]) == "0: b=5, a=3.0\n1: b=5, a=4.0\n"
    assert printed(space.summary) == "Items: 2\nVarying Keys: 'a'\nConstant Items: b=5, d=5\n"
    assert printed(lancet.List("a", [1, 2]).summary) == "Items: 2\nVarying Keys: 'a'\n"


def test_lexsort():
    space = lancet.List("a", [1, 2]) * lancet.List("b", [1, 2])
    assert [(s["a"], s["b"]) for s in space.lexsort("-b", "+a").specs] == [(1, 2), (2, 2), (1, 1), (2, 1)]
    assert repr(space.lexsort("-b")).endswith(".lexsort('-b')")
    with pytest.raises(SpecError, match="lexsort: give keys as"):
        space.lexsort("b")


def test_repr_rebuilds_and_str_is_pretty():
    space = (lancet.Range("a", 0, 1, steps=3) + lancet.List("a", [7])) * lancet.Args(c="x") \
        * lancet.Zip(lancet.List("p", [1, 2]), lancet.List("q", [3, 4]))
    rebuilt = eval(repr(space), vars(sweep.args))
    assert rebuilt.specs == space.specs
    assert repr(space).startswith("(Range(key='a',start_value=0,end_value=1,steps=3,fp_precision=4) + List(")
    text = str(lancet.Args(a=4, b=6))
    assert text == "Args(\n   a=4,\n   b=6\n)"  # as Lancet prints it: 3 spaces, defaults left out
    assert repr(lancet.List("a", [1])) == "List(key='a',values=[1],fp_precision=4)"
    assert str(lancet.Range("a", 0, 1)) == "Range(\n   key='a',\n   start_value=0,\n   end_value=1\n)"


def test_copy_and_dframe():
    space = lancet.List("a", [1, 2]) * lancet.Args(b=3)
    df = space.copy().dframe
    assert list(df.columns) == ["a", "b"] and df["a"].tolist() == [1, 2]


def test_zip_links_parameters():
    z = lancet.Zip(lancet.List("a", [1, 2, 3]), lancet.Range("b", 10, 30, steps=3))
    assert z.specs == [{"a": 1, "b": 10.0}, {"a": 2, "b": 20.0}, {"a": 3, "b": 30.0}]
    assert z.varying_keys == ["a", "b"]
    with pytest.raises(SpecError) as e:
        lancet.Zip(lancet.List("a", [1, 2, 3]), lancet.List("b", [1, 2]))
    assert str(e.value) == ("Zip: linked specifiers must have the same length: "
                            "List(key='a',values=[1, 2, 3]) has 3, List(key='b',values=[1, 2]) has 2")


def test_log_roundtrip(tmp_path):
    path = str(tmp_path / "x.log")
    lancet.Log.write_log(path, lancet.List("a", [1, 2]))
    lancet.Log.write_log(path, [{"a": 3}])
    assert open(path).read() == '0 {"a": 1}\n1 {"a": 2}\n2 {"a": 3}\n'
    assert lancet.Log(path).specs == [{"a": 1, "tid": 0}, {"a": 2, "tid": 1}, {"a": 3, "tid": 2}]
    assert lancet.Log.extract_log(path) == {0: {"a": 1}, 1: {"a": 2}, 2: {"a": 3}}
    with pytest.raises(SpecError, match="appending is disabled"):
        lancet.Log.write_log(path, [{"a": 4}], allow_append=False)


def test_log_reads_lancets_unterminated_file(tmp_path):
    path = tmp_path / "lancet.log"
    path.write_text('0 {"a": 1}\n1 {"a": 2}')  # Lancet writes no final newline
    lancet.Log.write_log(str(path), [{"a": 3}])
    assert lancet.Log.extract_log(str(path)) == {0: {"a": 1}, 1: {"a": 2}, 2: {"a": 3}}


def test_file_pattern(tmp_path):
    for seed, rate in [(2, 0.5), (1, 1.25), (10, 3.0)]:
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / ("run-%d-%s.npz" % (seed, rate))).write_text("")
    (tmp_path / "data" / "run-x-1.0.npz").write_text("")  # does not match {seed:d}
    fp = lancet.FilePattern("file", "data/run-{seed:d}-{rate:f}.npz", root=str(tmp_path))
    specs = fp.specs
    assert [s["seed"] for s in specs] == [1, 10, 2]  # sorted by path
    assert specs[0] == {"seed": 1, "rate": 1.25, "file": str(tmp_path / "data" / "run-1-1.25.npz")}
    assert all(os.path.isabs(s["file"]) for s in specs)


def test_lazy_million_point_space_is_never_materialized():
    tracemalloc.start()
    space = lancet.Range("a", 0, 1, steps=100) * lancet.Range("b", 0, 1, steps=100) \
        * lancet.Range("c", 0, 1, steps=100)
    assert len(space) == 1_000_000
    assert space.varying_keys == ["a", "b", "c"] and space.constant_keys == []
    it = space.iter_specs()
    first = [next(it) for _ in range(10)]
    assert first[1] == {"a": 0.0, "b": 0.0, "c": 0.0101}
    n = 10 + sum(1 for _ in it)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 1_000_000
    assert peak < 50 * 2 ** 20, "lazy path peaked at %d bytes" % peak


def test_points_are_fresh_dicts():
    space = lancet.List("a", [1]) * lancet.List("b", [2])
    p = next(space.iter_specs())
    p["a"] = 99
    assert space.specs == [{"a": 1, "b": 2}]


def test_lexsort_reorders_the_varying_keys_and_its_repr_rebuilds_it():
    space = (lancet.List("a", [1, 2]) * lancet.List("b", [3, 4])).lexsort("-b", "+a")
    assert space.specs == [{"a": 1, "b": 4}, {"a": 2, "b": 4}, {"a": 1, "b": 3}, {"a": 2, "b": 3}]
    assert space.varying_keys == ["b", "a"]  # b now varies slowest, as Lancet reports it
    assert repr(space) == ("(List(key='a',values=[1, 2],fp_precision=4) * List(key='b',values=[3, 4],"
                           "fp_precision=4)).lexsort('-b', '+a')")
    assert eval(repr(space), vars(sweep.args)).specs == space.specs
