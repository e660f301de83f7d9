"""collate(): one table from every run, including damaged, moved, running and Lancet-written roots."""
import json
import os
import shutil
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import sweep
from sweep import layout
from sweep.collation import CollateWarning
from sweep.errors import SweepError
from conftest import SPECS, run_sweep, write


@pytest.fixture
def tiny_root(example_root):
    return example_root


@pytest.fixture
def root(tiny_root, tmp_path):
    """A private copy of the example sweep's root, free to damage."""
    dst = os.path.join(tmp_path, os.path.basename(tiny_root))
    shutil.copytree(tiny_root, dst, symlinks=True)
    return dst


def collate_warnings(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = sweep.collate(*args, **kwargs)
    return df, [str(w.message) for w in caught if issubclass(w.category, CollateWarning)]


def test_one_row_per_run_and_time_with_typed_columns(root):
    df, warned = collate_warnings(root)
    assert warned == []
    assert len(df) == 48
    assert list(df.columns[:7]) == ["_sweep", "_tid", "cortex_density", "learning_rate", "seed", "retina_density",
                                    "_time"]
    assert list(df.columns[-7:]) == ["_status", "_attempts", "_duration", "_run_dir", "_stdout", "_stderr", "_note"]
    assert {"quantization_error", "topographic_error", "weight_map"} <= set(df.columns)
    assert df["cortex_density"].dtype == np.int64 and df["learning_rate"].dtype == np.float64
    assert df["quantization_error"].dtype == np.float64
    assert set(df["_status"]) == {"done"} and set(df["_time"]) == {0, 100, 200, 400}
    assert df["weight_map"].str.startswith(root).all()
    last = sweep.collate(root, times="last")
    assert len(last) == 12 and set(last["_time"]) == {400}
    loaded = sweep.collate(root, times="last", load_arrays=True)
    assert loaded["weight_map"][0].shape == (8, 8, 2)


def test_parameter_named_status_does_not_clash(tmp_path):
    write(tmp_path / "t.py", "import json, sys\nprint(json.dumps({'status': 'ok', 'v': 1}))\n")
    write(tmp_path / "s.toml", '[space]\nexpr = "List(\'status\', [1, 2])"\n[run]\ncommand = ["%s", "t.py"]\n'
          % sys.executable)
    assert run_sweep("run", "s.toml", "--output-directory", "o", "--quiet", cwd=tmp_path).returncode == 0
    [r] = os.listdir(tmp_path / "o")
    df = sweep.collate(os.path.join(tmp_path, "o", r))
    assert df["status"].tolist() == [1, 2] and df["status_result"].tolist() == ["ok", "ok"]
    assert df["_status"].tolist() == ["done", "done"] and df["v"].tolist() == [1, 1]


def test_cli_writes_csv_parquet_json_and_prints(root, tmp_path):
    for ext in (".csv", ".parquet", ".json"):
        out = str(tmp_path / ("t" + ext))
        r = run_sweep("collate", root, "-o", out, "--times", "last")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "12 row(s) written to %s\n" % out
    assert len(pd.read_csv(tmp_path / "t.csv")) == 12
    assert pd.read_parquet(tmp_path / "t.parquet")["cortex_density"].dtype == np.int64
    r = run_sweep("collate", root)
    assert r.returncode == 0 and "quantization_error" in r.stdout and "weight_map" not in r.stdout
    r = run_sweep("collate", root, "-o", str(tmp_path / "t.xlsx"))
    assert (r.returncode, r.stderr) == (2, "sweep: -o %s: unknown table format '.xlsx'; use .csv, .parquet or .json\n"
                                        % (tmp_path / "t.xlsx"))


def test_several_roots(root, tiny_root):
    df = sweep.collate([root, tiny_root])
    assert len(df) == 96 and df["_sweep"].nunique() == 1 or df.groupby("_sweep").size().tolist() == [48, 48]
    assert list(df.columns[:2]) == ["_sweep", "_tid"] and df.columns[-1] == "_note"


def test_moved_root_resolves_from_its_own_location(root, tmp_path):
    moved = str(tmp_path / "elsewhere" / "renamed")
    os.makedirs(os.path.dirname(moved))
    os.rename(root, moved)
    df, warned = collate_warnings(moved)
    assert warned == [] and len(df) == 48
    assert df["weight_map"].str.startswith(moved).all() and df["_run_dir"].str.startswith(moved).all()
    assert not df["quantization_error"].isna().any()


def test_running_or_interrupted_root(root):
    recs = layout.records_dir(root)
    rec = json.load(open(os.path.join(recs, "tid_3.0.json")))
    rec.update(state="running", pid=999999999)
    json.dump(rec, open(os.path.join(recs, "tid_3.0.json"), "w"))
    os.unlink(os.path.join(recs, "tid_4.0.json"))
    shutil.rmtree(os.path.join(root, rec["run_dir"]))
    shutil.rmtree(os.path.join(root, json.load(open(os.path.join(recs, "tid_5.0.json")))["run_dir"]))
    os.unlink(os.path.join(recs, "tid_5.0.json"))
    df, warned = collate_warnings(root)
    by = df.groupby("_tid")["_status"].first()
    assert by[3] == "lost" and by[5] == "pending" and by[0] == "done"
    assert df[df["_tid"] == 5]["quantization_error"].isna().all() and (df["_tid"] == 5).sum() == 1
    assert warned == []


def test_truncated_results_file(root):
    rd = sweep.collate(root)["_run_dir"][0]
    path = layout.results_path(rd)
    data = open(path).read()
    open(path, "w").write(data[: len(data) - 30])
    df, warned = collate_warnings(root)
    rows = df[df["_tid"] == 0]
    assert set(rows["_status"]) == {"damaged"} and len(rows) == 3
    assert rows["_note"].iloc[0] == "results.jsonl line 4: invalid JSON"
    assert warned == ["%s: results.jsonl line 4: invalid JSON" % path]
    assert (df["_status"] == "done").sum() == 44


def test_non_json_line(root):
    rd = sweep.collate(root)["_run_dir"][4]
    with open(layout.results_path(rd), "w") as f:
        f.write("not json at all\n")
    df, warned = collate_warnings(root)
    rows = df[df["_tid"] == 1]
    assert len(rows) == 1 and rows["_status"].iloc[0] == "damaged" and np.isnan(rows["quantization_error"].iloc[0])
    assert warned == ["%s: results.jsonl line 1: invalid JSON" % layout.results_path(rd)]


def test_vanished_run_directory(root):
    rd = sweep.collate(root)["_run_dir"][2 * 4]
    shutil.rmtree(rd)
    df, warned = collate_warnings(root)
    rows = df[df["_tid"] == 2]
    assert len(rows) == 1 and rows["_status"].iloc[0] == "missing"
    assert rows["_note"].iloc[0] == "run directory missing: %s" % os.path.basename(rd)
    assert warned == ["%s: run directory missing: %s" % (root, os.path.basename(rd))]


def test_result_keys_that_differ_between_runs(root):
    rd = sweep.collate(root)["_run_dir"][6 * 4]
    path = layout.results_path(rd)
    lines = [json.loads(l) for l in open(path)]
    with open(path, "w") as f:
        for line in lines:
            line.pop("topographic_error")
            f.write(json.dumps(line) + "\n")
    df, warned = collate_warnings(root)
    rows = df[df["_tid"] == 6]
    assert rows["topographic_error"].isna().all() and not rows["quantization_error"].isna().any()
    assert set(rows["_note"]) == {"missing results: topographic_error"}
    assert warned == ["%s: result keys differ between runs (1 run(s) lack some, e.g. topographic_error)" % path]


def test_record_for_a_tid_missing_from_the_log(root):
    shutil.copy(layout.record_path(root, 0, 0), layout.record_path(root, 99, 0))
    df, warned = collate_warnings(root)
    row = df[df["_tid"] == 99]
    assert len(row) == 1 and row["_status"].iloc[0] == "unlogged" and np.isnan(row["cortex_density"].iloc[0])
    assert warned == ["%s: record for tid 99 is not in the log" % layout.record_path(root, 99, 0)]


def test_cache_picks_up_changed_added_and_removed_runs(root):
    first = sweep.collate(root)
    assert os.path.isfile(layout.collate_cache_path(root))
    assert sweep.collate(root).equals(first)
    rd = first["_run_dir"][0]
    lines = [json.loads(l) for l in open(layout.results_path(rd))]
    lines[0]["quantization_error"] = 123.0
    with open(layout.results_path(rd), "w") as f:
        f.write("".join(json.dumps(l) + "\n" for l in lines))
    assert sweep.collate(root)["quantization_error"][0] == 123.0  # changed
    shutil.rmtree(first["_run_dir"][4])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert sweep.collate(root).groupby("_tid")["_status"].first()[1] == "missing"  # removed
    r = run_sweep("run", os.path.join(SPECS, "tiny.toml"), "-p", "seed=3", "--into", root, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sweep.collate(root)["_tid"].nunique() == 18  # added


def lancet_root(base, name="lancet_sweep"):
    """A root as Lancet itself writes it: .log without final newline, .info, streams/."""
    root = os.path.join(base, "2026-12-04_1930-" + name)
    os.makedirs(os.path.join(root, "streams"))
    specs = [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}, {"a": 3, "b": "x"}]
    with open(os.path.join(root, name + ".log"), "w") as f:
        f.write("\n".join("%d %s" % (i, json.dumps(s)) for i, s in enumerate(specs)))
    json.dump({"batch_name": name, "root_directory": "/somewhere/else", "timestamp": [2026, 12, 4, 19, 30, 0, 4, 338, 0],
               "varying_keys": ["a"], "constant_keys": ["b"], "constant_items": [["b", "x"]]},
              open(os.path.join(root, name + ".info"), "w"))
    for tid, s in enumerate(specs):
        out = os.path.join(root, "streams", "%s_193000_tid_%d.o.%d" % (name, tid, tid))
        with open(out, "w") as f:
            if tid == 2:
                f.write("plain text output\n")
            else:
                f.write(json.dumps({"score": s["a"] * 10}) + "\n" + json.dumps({"loss": 0.5}) + "\n")
        open(out.replace(".o.", ".e."), "w").close()
    return root


def test_roots_written_by_lancet(tmp_path):
    root = lancet_root(str(tmp_path))
    df, warned = collate_warnings(root)
    assert warned == []
    assert df["a"].tolist() == [1, 2, 3] and df["b"].tolist() == ["x"] * 3
    assert df["score"].tolist()[:2] == [10, 20] and np.isnan(df["score"][2])
    assert df["loss"].tolist()[:2] == [0.5, 0.5]
    assert df["_stdout"][0] == os.path.join(root, "streams", "lancet_sweep_193000_tid_0.o.0")
    assert df["_stderr"][0].endswith("tid_0.e.0")


def test_output_lists_launches(tmp_path):
    lancet_root(str(tmp_path), "one")
    lancet_root(str(tmp_path), "two")
    os.makedirs(tmp_path / "not_a_root")
    out = sweep.Output(str(tmp_path))
    assert len(out) == 2 and [l.info["batch_name"] for l in out] == ["one", "two"]
    first = out[0]
    assert first.tids == [0, 1, 2] and first.specs[0] == {"a": 1, "b": "x"}
    assert first.stdout[1].endswith("one_193000_tid_1.o.1") and first.log.endswith("one.log")
    assert first._fields[:8] == ("timestamp", "path", "tids", "specs", "stdout", "stderr", "log", "info")


def test_file_info_and_file_types(tmp_path):
    npy = sweep.NumpyFile(directory=str(tmp_path), hash_suffix=False)
    js = sweep.JSONFile(directory=str(tmp_path), hash_suffix=False)
    for i in range(3):
        npy.save("run_%d" % i, metadata={"seed": i}, weights=np.arange(i + 1))
        js.save("meta_%d" % i, metadata={"score": i * 1.5})
    info = sweep.FileInfo(sweep.FilePattern("file", "run_{n:d}.npz", root=str(tmp_path)), "file", npy | js)
    assert [s["seed"] for s in info.specs] == [0, 1, 2] and [s["n"] for s in info.specs] == [0, 1, 2]
    df = info.load(info.dframe)
    assert df["weights"][2].tolist() == [0, 1, 2]
    meta = sweep.FileInfo.from_pattern("meta_{n:d}.json", js, root=str(tmp_path))
    assert [s["score"] for s in meta.specs] == [0.0, 1.5, 3.0]


def test_custom_file_reads_with_the_users_functions(tmp_path):
    for i in range(2):
        (tmp_path / ("log_%d.txt" % i)).write_text("loss %d\n" % (10 - i))
    reader = sweep.CustomFile(data_fn=lambda f: {"loss": float(open(f).read().split()[1])},
                              metadata_fn=lambda f: {"size": os.path.getsize(f)})
    info = sweep.FileInfo(sweep.FilePattern("file", "log_{n:d}.txt", root=str(tmp_path)), "file", reader)
    assert [s["size"] for s in info.specs] == [8, 7]
    assert info.load(info.dframe)["loss"].tolist() == [10.0, 9.0]
    with pytest.raises(SweepError) as e:
        sweep.CustomFile(data_fn=lambda f: [1]).data("x.txt")
    assert str(e.value) == "CustomFile: data_fn must return a dict, got list for x.txt"
    with pytest.raises(SweepError) as e:
        sweep.CustomFile(data_fn=lambda f: {}).metadata("x.txt")
    assert str(e.value) == "CustomFile: no metadata_fn given to read x.txt"
    with pytest.raises(SweepError) as e:
        reader.save("x.txt", a=1)
    assert str(e.value) == "CustomFile cannot save files; it only reads them with data_fn and metadata_fn"


def test_a_root_written_by_the_real_lancet(tmp_path):
    root = str(tmp_path / "2026-12-04_2246-lancet_made")
    shutil.copytree(os.path.join(os.path.dirname(__file__), "data", "2026-12-04_2246-lancet_made"), root)
    df, warned = collate_warnings(root)
    assert warned == []
    assert df["x"].tolist() == [1, 2, 3] and df["seed"].tolist() == [7, 7, 7]
    assert df["score"].tolist() == [10.0, 20.0, 30.0] and df["half"].tolist() == [0.5, 1.0, 1.5]
    assert df["_stdout"][2] == os.path.join(root, "streams", "lancet_made_224605_tid_2.o.2")  # not /tmp/lgen/out
    [launch] = sweep.Output(str(tmp_path))
    assert launch.tids == [0, 1, 2] and launch.specs[1] == {"x": 2, "seed": 7}
    assert launch.info["batch_name"] == "lancet_made"
