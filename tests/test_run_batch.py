"""`sweep run-batch`: one model script in its own encoded run directory."""
import json
import os
import tarfile

import numpy as np
import pytest

import sweep
from sweep.errors import SweepError
from conftest import SPECS, listing, run_sweep, write

MODEL = '''
import param
from sweep import global_params as p
p.add(gain=param.Number(1.0, bounds=(0, 10), doc="gain"),
      n=param.Integer(3, doc="count"),
      label=param.String("a", doc="label"),
      sizes=param.List([1], doc="sizes"))
time = 0
def run(until):
    global time
    time = until
def results():
    return {"value": p.gain * time, "n": p.n}
def snapshot():
    return {"time": time, "gain": p.gain}
'''


@pytest.fixture
def model(tmp_path):
    return write(tmp_path / "model.py", MODEL)


def rb(tmp_path, *args):
    return run_sweep("run-batch", *args, cwd=tmp_path)


def one_dir(path):
    dirs = [d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d))]
    assert len(dirs) == 1, dirs
    return os.path.join(path, dirs[0])


def test_run_directory_name_contents_and_results(tmp_path, model):
    r = rb(tmp_path, "model.py", "-p", "gain=2", "-p", "sizes=[1,2]", "--times", "50,100", "--name-time", "202612041930")
    assert r.returncode == 0, r.stderr
    rdir = one_dir(tmp_path / "Output")
    assert os.path.basename(rdir) == "202612041930_model,gain=2,sizes=1_2"
    assert r.stdout.strip() == rdir
    files = sorted(os.listdir(rdir))
    assert files == ["202612041930_model.out", "model.py", "results.jsonl", "run.json", "script_repr.json"]
    lines = [json.loads(l) for l in open(os.path.join(rdir, "results.jsonl"))]
    assert lines == [{"time": 50, "value": 100.0, "n": 3}, {"time": 100, "value": 200.0, "n": 3}]
    rec = json.load(open(os.path.join(rdir, "run.json")))
    assert rec["status"] == "done" and rec["exit_code"] == 0 and rec["params"] == {"gain": 2, "sizes": [1, 2]}
    assert rec["declared"] == {"gain": 2, "n": 3, "label": "a", "sizes": [1, 2]}
    assert rec["times"] == [50, 100] and rec["duration"] >= 0 and "python" in rec["versions"]
    out = open(os.path.join(rdir, "202612041930_model.out")).read()
    assert out.startswith("# sweep run-batch model.py -p gain=2 -p 'sizes=[1,2]'")
    assert "# script %s" % model in out
    assert out.rstrip().endswith("There were 0 error(s) and 0 warning(s).")
    assert json.load(open(os.path.join(rdir, "script_repr.json"))) == {"gain": 2, "n": 3, "label": "a",
                                                                       "sizes": [1, 2]}


def test_times_number_scales_default_list_and_tag_and_prefix(tmp_path, model):
    r = rb(tmp_path, "model.py", "--times", "0.01", "--tag", "t1", "--dirname-prefix", "exp_",
           "--name-time-format", "%Y")
    assert r.returncode == 0, r.stderr
    rdir = one_dir(tmp_path / "Output")
    assert os.path.basename(rdir).startswith("exp_2026_model_t1")
    times = [json.loads(l)["time"] for l in open(os.path.join(rdir, "results.jsonl"))]
    assert times == [t * 0.01 for t in sweep.DEFAULT_TIMES]


def test_output_directory_from_environment(tmp_path, model):
    r = run_sweep("run-batch", "model.py", "--times", "1", cwd=tmp_path, env={"SWEEP_OUTPUT_DIRECTORY": "elsewhere"})
    assert r.returncode == 0, r.stderr
    assert os.path.isdir(tmp_path / "elsewhere") and not os.path.exists(tmp_path / "Output")


def test_arrays_saved_as_npy(tmp_path):
    r = run_sweep("run-batch", os.path.join(SPECS, "tiny.py"), "-p", "cortex_density=4", "-p", "retina_density=6",
                  "--times", "10,20", "--output-directory", tmp_path)
    assert r.returncode == 0, r.stderr
    rdir = one_dir(tmp_path)
    lines = [json.loads(l) for l in open(os.path.join(rdir, "results.jsonl"))]
    assert lines[1]["weight_map"] == {"__array__": "arrays/weight_map_t20.npy"}
    assert np.load(os.path.join(rdir, "arrays", "weight_map_t20.npy")).shape == (4, 4, 2)
    assert 0 < lines[1]["quantization_error"] < 1


def test_example_model_is_deterministic_given_seed(tmp_path):
    vals = []
    for out in ("a", "b"):
        r = run_sweep("run-batch", os.path.join(SPECS, "tiny.py"), "-p", "seed=3", "--times", "10,30",
                      "--output-directory", tmp_path / out)
        assert r.returncode == 0, r.stderr
        vals.append(open(os.path.join(one_dir(tmp_path / out), "results.jsonl")).read())
    assert vals[0] == vals[1]


def test_analysis_function_from_file_and_save_helper(tmp_path, model):
    write(tmp_path / "an.py", "import sweep\ndef analyse(time, params):\n    sweep.save(t2=time * 2)\n"
                              "    return {'g': params.gain}\n")
    r = rb(tmp_path, "model.py", "--times", "1,2", "--analysis", "an.py:analyse")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in open(os.path.join(one_dir(tmp_path / "Output"), "results.jsonl"))]
    assert lines == [{"time": 1, "t2": 2, "g": 1.0}, {"time": 2, "t2": 4, "g": 1.0}]


def test_script_without_time_hook_runs_once(tmp_path):
    write(tmp_path / "once.py", "import param\nfrom sweep import global_params as p\n"
                                "p.add(x=param.Number(1))\nprint('ran', p.x)\ndef results():\n    return {'y': p.x + 1}\n")
    r = rb(tmp_path, "once.py", "-p", "x=4", "--times", "5,10")
    assert r.returncode == 0, r.stderr
    assert "ran 4" in r.stdout
    rdir = one_dir(tmp_path / "Output")
    assert [json.loads(l) for l in open(os.path.join(rdir, "results.jsonl"))] == [{"time": 10, "y": 5}]
    assert "ran 4" in open(os.path.join(rdir, [f for f in os.listdir(rdir) if f.endswith(".out")][0])).read()


def test_script_exception_records_failure_and_keeps_results(tmp_path):
    write(tmp_path / "boom.py", "time = 0\ndef run(until):\n    global time\n    if until > 1:\n"
                                "        raise RuntimeError('diverged')\n    time = until\n"
                                "def results():\n    return {'t': time}\n")
    r = rb(tmp_path, "boom.py", "--times", "1,2")
    assert r.returncode == 1
    assert "RuntimeError: diverged" in r.stderr
    rdir = one_dir(tmp_path / "Output")
    rec = json.load(open(os.path.join(rdir, "run.json")))
    assert rec["status"] == "failed" and rec["exit_code"] == 1 and rec["error"] == "RuntimeError: diverged"
    assert [json.loads(l) for l in open(os.path.join(rdir, "results.jsonl"))] == [{"time": 1, "t": 1}]
    out = open(os.path.join(rdir, [f for f in os.listdir(rdir) if f.endswith(".out")][0])).read()
    assert "Traceback" in out and "There were 1 error(s) and 0 warning(s)." in out


def test_snapshot_and_compressed_metadata(tmp_path, model):
    r = rb(tmp_path, "model.py", "--times", "3", "--snapshot", "--metadata-dir", "meta",
           "--compress-metadata", "tar.gz", "--name-time", "T")
    assert r.returncode == 0, r.stderr
    rdir = one_dir(tmp_path / "Output")
    assert sorted(os.listdir(rdir)) == ["T_model.pickle", "meta.tar.gz", "results.jsonl", "run.json",
                                        "script_repr.json"]
    with tarfile.open(os.path.join(rdir, "meta.tar.gz")) as tf:
        assert sorted(tf.getnames()) == ["meta", "meta/T_model.out", "meta/model.py"]


def test_long_names_are_truncated_with_a_hash(tmp_path, model):
    names = []
    for label in ("x" * 300 + "1", "x" * 300 + "2"):
        r = rb(tmp_path, "model.py", "-p", "label=%s" % label, "--times", "1", "--max-name-length", "60")
        assert r.returncode == 0, r.stderr
        names.append(os.path.basename(r.stdout.strip()))
    assert all(len(n) == 60 and "___" in n for n in names)
    assert names[0] != names[1]


def test_python_api(tmp_path, model):
    rdir = sweep.run_batch(model, times=[1], output_directory=str(tmp_path / "o"), gain=3, name_time="N")
    assert os.path.basename(rdir) == "N_model,gain=3"
    assert json.loads(open(os.path.join(rdir, "results.jsonl")).read())["value"] == 3.0
    with pytest.raises(SweepError, match="parameter gain=11: Number parameter 'gain' must be at most 10, not 11."):
        sweep.run_batch(model, times=[1], output_directory=str(tmp_path / "o"), gain=11)


# --- bad input: one line, exit 2, nothing left behind -------------------------------------


def bad(tmp_path, *args):
    before = listing(tmp_path)
    r = rb(tmp_path, *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert listing(tmp_path) == before or listing(tmp_path) == sorted(before + ["Output"])
    assert not os.path.isdir(tmp_path / "Output") or os.listdir(tmp_path / "Output") == []
    return r.stderr.strip().splitlines()[-1]


def test_missing_script(tmp_path):
    assert bad(tmp_path, "nope.py") == "sweep: run-batch: no such script: %s" % (tmp_path / "nope.py")


def test_p_without_equals(tmp_path, model):
    assert bad(tmp_path, "model.py", "-p", "gain") == "sweep: -p gain: expected NAME=VALUE"


def test_undeclared_parameter(tmp_path, model):
    assert bad(tmp_path, "model.py", "-p", "gian=2") == (
        "sweep: run-batch: parameter gian not declared by model.py (declared: gain, n, label, sizes); "
        "pass --allow-unused to permit")
    r = rb(tmp_path, "model.py", "-p", "gian=2", "--allow-unused", "--times", "1")
    assert r.returncode == 0, r.stderr


def test_value_out_of_bounds(tmp_path, model):
    assert bad(tmp_path, "model.py", "-p", "gain=-1") == (
        "sweep: run-batch: parameter gain=-1: Number parameter 'gain' must be at least 0, not -1.")


def test_value_of_wrong_type(tmp_path, model):
    assert bad(tmp_path, "model.py", "-p", "n=abc") == (
        "sweep: run-batch: parameter n='abc': Integer parameter 'n' must be an integer, not <class 'str'>.")


def test_integral_float_is_accepted_for_integer(tmp_path, model):
    r = rb(tmp_path, "model.py", "-p", "n=4.0", "--times", "1")
    assert r.returncode == 0, r.stderr


def test_analysis_function_not_found(tmp_path, model):
    assert bad(tmp_path, "model.py", "--analysis", "model.py:nofunc") == (
        "sweep: run-batch: analysis 'model.py:nofunc': model.py has no function 'nofunc'")
    assert bad(tmp_path, "model.py", "--analysis", "nomodule_xyz:f") == (
        "sweep: run-batch: analysis 'nomodule_xyz:f': cannot import module nomodule_xyz: "
        "No module named 'nomodule_xyz'")


def test_output_directory_cannot_be_written(tmp_path, model):
    write(tmp_path / "afile", "")
    assert bad(tmp_path, "model.py", "--output-directory", "afile/out") == (
        "sweep: run-batch: cannot create output directory %s: Not a directory" % (tmp_path / "afile" / "out"))


def test_run_directory_already_exists(tmp_path, model):
    assert rb(tmp_path, "model.py", "--times", "1", "--name-time", "X").returncode == 0
    before = open(os.path.join(tmp_path, "Output", "X_model", "results.jsonl")).read()
    r = rb(tmp_path, "model.py", "--times", "2", "--name-time", "X")
    assert r.returncode == 2
    assert r.stderr.strip() == ("sweep: run-batch: run directory already exists, refusing to overwrite: %s"
                                % (tmp_path / "Output" / "X_model"))
    assert open(os.path.join(tmp_path, "Output", "X_model", "results.jsonl")).read() == before


def test_values_with_slashes_stay_inside_the_output_directory(tmp_path, model):
    r = rb(tmp_path, "model.py", "-p", "label='../../x/y'", "--times", "1", "--name-time", "T")
    assert r.returncode == 0, r.stderr
    assert os.listdir(tmp_path / "Output") == ["T_model,label=..%2F..%2Fx%2Fy"]
    r = rb(tmp_path, "model.py", "-p", "label='..'", "--times", "1", "--dirname-prefix", "..", "--name-time", "")
    assert r.returncode == 0, r.stderr
    assert os.path.dirname(r.stdout.strip()) == str(tmp_path / "Output")
    assert sorted(os.listdir(tmp_path)) == ["Output", "model.py"]


def test_simulation_object_time_hook(tmp_path):
    write(tmp_path / "sim.py", "class Sim:\n    def __init__(self):\n        self.time = 0.0\n"
                               "    def run(self, duration):\n        self.time += duration\n"
                               "simulation = Sim()\ndef results():\n    return {'t': simulation.time}\n")
    r = rb(tmp_path, "sim.py", "--times", "0.5,2.8,100")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in open(os.path.join(one_dir(tmp_path / "Output"), "results.jsonl"))]
    assert lines == [{"time": 0.5, "t": 0.5}, {"time": 2.8, "t": 2.8}, {"time": 100, "t": 100.0}]


def test_script_exiting_with_status_2_is_a_failure_not_bad_input(tmp_path):
    write(tmp_path / "ex.py", "import sys\nprint('bye')\nsys.exit(2)\n")
    r = rb(tmp_path, "ex.py", "--times", "1,")
    assert r.returncode == 2 and r.stdout == "bye\n"
    assert r.stderr.startswith("sweep: run-batch: ") and " failed: script exited with status 2 (see " in r.stderr
    rec = json.load(open(os.path.join(one_dir(tmp_path / "Output"), "run.json")))
    assert rec["status"] == "failed" and rec["exit_code"] == 2 and rec["error"] == "script exited with status 2"


def test_sigterm_records_the_run_as_interrupted(tmp_path):
    import signal
    import subprocess
    import sys
    import time as _t

    write(tmp_path / "slow.py", "import time\ntime_ = 0\ndef run(until):\n    time.sleep(60)\n"
                                "def results():\n    return {'x': 1}\n")
    p = subprocess.Popen([sys.executable, "-m", "sweep", "run-batch", "slow.py", "--times", "1,2"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = _t.monotonic() + 20
    while not (os.path.isdir(tmp_path / "Output") and os.listdir(tmp_path / "Output")) and _t.monotonic() < deadline:
        _t.sleep(0.05)
    _t.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=20)
    assert p.returncode == 143
    rdir = one_dir(tmp_path / "Output")
    rec = json.load(open(os.path.join(rdir, "run.json")))
    assert rec["status"] == "interrupted" and rec["exit_code"] == 143
    assert rec["error"] == "Terminated: terminated by SIGTERM"
