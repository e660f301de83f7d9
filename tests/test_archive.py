"""archive / verify / reproduce / compare, end to end with real files."""
import gzip
import io
import json
import os
import shutil
import tarfile

import pytest

import sweep
from sweep import layout
from sweep.errors import SweepError
from conftest import listing, run_sweep


@pytest.fixture
def example(example_root):
    return example_root


def test_round_trip_archive_delete_reproduce_compare(example, tmp_path):
    root = str(tmp_path / os.path.basename(example))
    shutil.copytree(example, root)
    r = run_sweep("archive", root, "-o", tmp_path / "sweep.tar.gz")
    assert r.returncode == 0, r.stderr
    archive = str(tmp_path / "sweep.tar.gz")
    with tarfile.open(archive) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames()}
    for must in ("MANIFEST.json", "environment.json", "collated.csv", "tiny.log", "tiny.info", "sweep.json",
                 "spec/tiny.toml", "spec/tiny.py", "tasks.jsonl"):
        assert must in names, must
    assert any(n.startswith("records/") for n in names) and any(n.startswith("streams/") for n in names)
    assert any(n.endswith("/results.jsonl") for n in names) and any("/arrays/" in n for n in names)
    assert run_sweep("verify", archive).stdout.startswith("OK: ")
    kept = str(tmp_path / "kept")
    shutil.move(root, kept)  # the root is gone from where it was
    r = run_sweep("reproduce", archive, "--output-directory", tmp_path / "again", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    [new] = [d for d in os.listdir(tmp_path / "again") if d.endswith("-tiny")]
    new = str(tmp_path / "again" / new)
    assert json.load(open(os.path.join(new, "reproduced_from.json")))["reproduced_from"] == archive
    c = run_sweep("compare", kept, new)
    assert c.returncode == 0, c.stdout
    assert c.stdout == "IDENTICAL within rtol=1e-09, atol=0: 12 run(s), 144 value(s) compared\n"
    assert run_sweep("compare", archive, new).returncode == 0  # an archive compares too


def test_compare_finds_exactly_the_changed_value(example, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(example, copy)
    df = sweep.collate(copy)
    row = df[(df["_tid"] == 5) & (df["_time"] == 200)].iloc[0]
    path = layout.results_path(row["_run_dir"])
    lines = [json.loads(l) for l in open(path)]
    for line in lines:
        if line["time"] == 200:
            line["quantization_error"] += 0.001
    open(path, "w").write("".join(json.dumps(l) + "\n" for l in lines))
    c = run_sweep("compare", example, copy)
    assert c.returncode == 1
    out = c.stdout.splitlines()
    assert out[-1] == "DIFFERENT: 1 value(s) in 1 run(s) differ; 0 run(s) only in A, 0 only in B (rtol=1e-09, atol=0)"
    assert len(out) == 3 and "cortex_density=12, learning_rate=0.05, seed=2, retina_density=12" in out[1]
    assert "200.0" in out[1] and "quantization_error" in out[1]
    assert run_sweep("compare", example, copy, "--atol", "0.01").returncode == 0
    res = sweep.compare(example, copy)
    assert [(d["result"], d["time"], d["tid_a"]) for d in res["differences"]] == [("quantization_error", 200.0, 5)]


def test_compare_arrays_and_runs_on_one_side_only(example, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(example, copy)
    import numpy as np
    df = sweep.collate(copy)
    path = df[(df["_tid"] == 0) & (df["_time"] == 400)]["weight_map"].iloc[0]
    a = np.load(path)
    a[1, 2, 0] += 1
    np.save(path, a)
    shutil.rmtree(df[df["_tid"] == 11]["_run_dir"].iloc[0])
    lines = open(os.path.join(copy, "tiny.log")).read().splitlines()
    open(os.path.join(copy, "tiny.log"), "w").write("\n".join(lines[:11]) + "\n")  # tid 11 gone from B
    os.unlink(layout.record_path(copy, 11, 0))
    c = run_sweep("compare", example, copy)
    assert c.returncode == 1
    assert "weight_map" in c.stdout and "array[1,2,0]=" in c.stdout
    assert "only in A: cortex_density=16, learning_rate=0.2, seed=2, retina_density=12" in c.stdout


def test_compare_unusable_input(tmp_path):
    r = run_sweep("compare", tmp_path, tmp_path)
    assert r.returncode == 2
    assert r.stderr == "sweep: %s: not a sweep root (no <batch>.info and <batch>.log files)\n" % tmp_path


def test_verify_names_the_corrupted_file(example, tmp_path):
    archive = sweep.archive(example, str(tmp_path / "a.tar.gz"))
    raw = gzip.decompress(open(archive, "rb").read())
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        member = [m for m in tf.getmembers() if m.name.endswith("tiny.log")][0]
    data = bytearray(raw)
    data[member.offset_data + 3] ^= 0x01  # one byte inside tiny.log
    bad = str(tmp_path / "bad.tar.gz")
    open(bad, "wb").write(gzip.compress(bytes(data)))
    r = run_sweep("verify", bad)
    assert r.returncode == 1
    assert r.stdout == "checksum differs: tiny.log\nFAILED: %s: 1 problem(s)\n" % bad
    r = run_sweep("reproduce", bad, "--output-directory", tmp_path / "x")
    assert r.returncode == 2 and "fails verification: checksum differs: tiny.log" in r.stderr


def test_archive_without_arrays_and_never_a_partial_file(example, tmp_path, monkeypatch):
    path = sweep.archive(example, str(tmp_path / "na.tar.gz"), arrays=False)
    with tarfile.open(path) as tf:
        assert not any("/arrays/" in n for n in tf.getnames())
    assert sweep.verify(path) == []
    with pytest.raises(SweepError, match="already exists; refusing to overwrite"):
        sweep.archive(example, path)

    def boom(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(tarfile.TarFile, "addfile", boom)
    with pytest.raises(OSError, match="disk full"):
        sweep.archive(example, str(tmp_path / "half.tar.gz"))
    assert sorted(os.listdir(tmp_path)) == ["na.tar.gz"]  # no partial, no staging left


def _malicious(path, kind, outside):
    with tarfile.open(path, "w:gz") as tf:
        def add(name, data=b"x", **attrs):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for k, v in attrs.items():
                setattr(info, k, v)
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
        add("root/MANIFEST.json", b'{"files": {}}')
        if kind == "dotdot":
            add("root/../../" + os.path.basename(outside), b"pwned")
        elif kind == "absolute":
            add(outside, b"pwned")
        elif kind == "symlink":
            add("root/link", b"", type=tarfile.SYMTYPE, linkname=os.path.dirname(outside), size=0)
            add("root/link/" + os.path.basename(outside), b"pwned")
        elif kind == "device":
            add("root/dev", b"", type=tarfile.CHRTYPE, devmajor=1, devminor=3, size=0)


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "device"])
def test_malicious_archive_writes_nothing_outside(tmp_path, kind):
    outside = str(tmp_path / "outside" / "pwned.txt")
    os.makedirs(os.path.dirname(outside))
    target = tmp_path / "target" / "deep"
    os.makedirs(target)
    evil = str(tmp_path / "evil.tar.gz")
    _malicious(evil, kind, outside)
    before = listing(tmp_path / "outside")
    with pytest.raises(SweepError, match="refusing to extract|expected one sweep root|cannot extract"):
        sweep.archives.extract(evil, str(target))
    assert listing(tmp_path / "outside") == before
    assert not os.path.exists(outside)
    assert not any(p.endswith("pwned.txt") for p in listing(tmp_path) if not p.startswith("target"))


def test_reproduce_warns_and_records_environment_differences(example, tmp_path):
    root = str(tmp_path / "root")
    shutil.copytree(example, root)
    info_path = os.path.join(root, "tiny.info")
    info = json.load(open(info_path))
    info["versions"]["param"] = "1.0.0"
    json.dump(info, open(info_path, "w"))
    r = run_sweep("reproduce", root, "--output-directory", tmp_path / "new", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "warning: environment differs from the archive: param 1.0.0 -> " in r.stderr
    [new] = [d for d in os.listdir(tmp_path / "new")]
    rec = json.load(open(os.path.join(tmp_path, "new", new, "reproduced_from.json")))
    assert rec["environment_differences"][0].startswith("param 1.0.0 -> ")
    assert json.load(open(os.path.join(tmp_path, "new", new, "tiny.info")))["metadata"]["environment_differences"]
