"""The Slurm launcher against a real single-node cluster (scripts/slurm-cluster.sh)."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import sweep
from sweep import layout
from sweep.errors import SweepError
from sweep.launch.slurm import chunk_tids, index_ranges
from conftest import SPECS, run_sweep, write


def cluster_reachable():
    if shutil.which("sinfo") is None:
        return False, "sinfo not found (run scripts/slurm-cluster.sh start)"
    try:
        p = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, "sinfo failed: %s" % exc
    if p.returncode != 0 or not any(s.startswith(("idle", "mix", "alloc")) for s in p.stdout.split()):
        return False, "no Slurm node is up: %s" % (p.stderr.strip() or p.stdout.strip() or "no nodes")
    return True, ""


_ok, _why = cluster_reachable()
if not _ok and os.environ.get("SWEEP_REQUIRE_SLURM"):
    raise RuntimeError("SWEEP_REQUIRE_SLURM is set but no Slurm cluster is reachable: %s" % _why)
needs_slurm = pytest.mark.skipif(not _ok, reason="no Slurm cluster reachable: %s" % _why)

TASK = "import sys, time\nx = float(sys.argv[2])\ntime.sleep(float(sys.argv[4]))\n" \
       "if x < 0:\n    print('negative x', x, file=sys.stderr)\n    sys.exit(4)\nprint('{\"y\": %s}' % (x * 2))\n"


def shell_spec(tmp_path, expr, name="sl", slurm=""):
    write(tmp_path / "task.py", TASK)
    return write(tmp_path / (name + ".toml"),
                 'name = "%s"\n[space]\nexpr = "%s"\n[run]\ncommand = ["%s", "task.py"]\n'
                 '[launcher]\nkind = "slurm"\noutput_directory = "out"\n[launcher.slurm]\n%s'
                 % (name, expr, sys.executable, slurm))


def the_root(tmp_path, sub="out"):
    [name] = os.listdir(tmp_path / sub)
    return os.path.join(tmp_path, sub, name)


def wait_until(predicate, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


def test_chunking_respects_the_array_index_cap():
    chunks = chunk_tids([0, 1, 2, 7, 8, 9, 20, 21], 8)
    assert chunks == [(0, [0, 1, 2, 7]), (8, [8, 9]), (20, [20, 21])]
    assert all(t - off < 8 for off, ts in chunks for t in ts)
    assert index_ranges([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8"


def test_unknown_option_names_list_the_valid_ones(tmp_path):
    with pytest.raises(SweepError) as e:
        sweep.SlurmLauncher("x", sweep.List("a", [1]), sweep.ShellCommand("true"), partiton="debug")
    assert str(e.value).startswith("SlurmLauncher: unknown option 'partiton'; valid options: account, ")
    spec = shell_spec(tmp_path, "List('x', [1])", slurm='partiton = "debug"\n')
    r = run_sweep("run", spec, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == ("sweep: %s: unknown key 'launcher.slurm.partiton'; did you mean 'partition'? valid keys: "
                        "partition, time, mem, cpus_per_task, account, qos, max_running, tasks_per_job, sbatch_args, "
                        "setup\n" % spec)


@needs_slurm
def test_sweep_on_slurm_matches_the_local_launcher(tmp_path):
    local = run_sweep("run", os.path.join(SPECS, "tiny_slurm.toml"), "--launcher", "local", "--output-directory",
                      tmp_path / "local", "--quiet")
    assert local.returncode == 0, local.stderr
    r = run_sweep("run", os.path.join(SPECS, "tiny_slurm.toml"), "--output-directory", tmp_path / "slurm", "--wait",
                  "--quiet", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    root = the_root(tmp_path, "slurm")
    jobs = json.load(open(layout.jobs_file(root)))
    assert len(jobs) == 3  # 24 tasks, MaxArraySize 8: ceil(24 / 8) sbatch calls
    cols = ["_tid", "_time", "cortex_density", "learning_rate", "seed", "quantization_error", "topographic_error"]
    a, b = sweep.collate(root)[cols], sweep.collate(the_root(tmp_path, "local"))[cols]
    assert len(a) == 96 and a.equals(b)
    assert sweep.status(root)["counts"] == {"done": 24}
    rec = json.load(open(layout.record_path(root, 9, 0)))
    assert rec["slurm_array_task_id"] == "1" and rec["slurm_job_id"]


@needs_slurm
def test_chunks_cover_every_tid_once_and_a_failure_is_reported(tmp_path):
    spec = shell_spec(tmp_path, "(List('x', [-1]) + Range('x', 1, 19, steps=19, integer=True)) * Args(sleep=0)")
    r = run_sweep("run", spec, "--wait", "--quiet", cwd=tmp_path, timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    root = the_root(tmp_path)
    jobs = json.load(open(layout.jobs_file(root)))
    tids = [t for j in jobs for t in j["tids"]]
    assert sorted(tids) == list(range(20)) and len(jobs) == 3
    recs = sorted(os.listdir(layout.records_dir(root)))
    assert recs == sorted("tid_%d.0.json" % t for t in range(20))  # every tid ran exactly once
    st = run_sweep("status", root)
    assert "done 19, failed 1" in st.stdout
    assert "tid 0: failed (exit code 4)  [x=-1, sleep=0]" in st.stdout and "| negative x -1.0" in st.stdout
    df = sweep.collate(root)
    assert sorted(df["y"].dropna().tolist()) == [2.0 * i for i in range(1, 20)]


@needs_slurm
def test_cancel_then_resume_completes_the_sweep(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2, 3, 4, 5, 6]) * Args(sleep=60)")
    r = run_sweep("run", spec, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Submitted sl: follow it with `sweep status" in r.stdout
    root = the_root(tmp_path)
    wait_until(lambda: len(os.listdir(layout.records_dir(root))) >= 2, what="two running tasks")
    c = run_sweep("cancel", root)
    assert c.returncode == 0 and c.stdout.startswith("Cancelled job(s) ")
    wait_until(lambda: "running" not in sweep.status(root)["counts"], what="the cancellation")
    counts = sweep.status(root)["counts"]
    assert counts.get("cancelled", 0) == 6 and "done" not in counts, counts
    tasks = [json.loads(l) for l in open(layout.tasks_file(root))]
    with open(layout.tasks_file(root), "w") as f:  # quick tasks for the resumed run
        for t in tasks:
            t["argv"] = [a if a != "60" else "0" for a in t["argv"]]
            f.write(json.dumps(t) + "\n")
    r = run_sweep("resume", root, "--wait", "--quiet", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sweep.status(root)["counts"] == {"done": 6}


@needs_slurm
def test_a_task_killed_by_another_signal_fails_as_it_does_locally(tmp_path):
    write(tmp_path / "selfkill.py", "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n")
    spec = write(tmp_path / "k.toml", 'name = "k"\n[space]\nexpr = "List(\'x\', [1])"\n[run]\ncommand = ["%s", '
                 '"selfkill.py"]\n[launcher]\nkind = "slurm"\n' % sys.executable)
    for launcher in ("slurm", "local"):
        r = run_sweep("run", spec, "--launcher", launcher, "--output-directory", tmp_path / launcher, "--wait",
                      "--quiet", cwd=tmp_path, timeout=600)
        assert r.returncode == 1, r.stdout + r.stderr
        st = run_sweep("status", the_root(tmp_path, launcher))
        assert "tid 0: failed (signal SIGTERM)  [x=1]" in st.stdout, (launcher, st.stdout)


@needs_slurm
def test_time_limit_shows_as_timed_out(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1]) * List('sleep', [0, 300])", slurm='time = "0:01:00"\n')
    r = run_sweep("run", spec, "--wait", "--quiet", cwd=tmp_path, timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    st = run_sweep("status", the_root(tmp_path))
    assert "done 1, timeout 1" in st.stdout, st.stdout


@needs_slurm
def test_failed_submission_is_recorded_and_resumable(tmp_path):
    shim = tmp_path / "bin"
    shim.mkdir()
    real = shutil.which("sbatch")
    write(shim / "sbatch", "#!/bin/sh\nn=$(cat %s/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s/count\n"
          "if [ \"$n\" = \"$FAIL_AT\" ]; then echo 'sbatch: error: Batch job submission failed: injected' >&2; "
          "exit 1; fi\nexec %s \"$@\"\n" % (shim, shim, real))
    os.chmod(shim / "sbatch", 0o755)
    spec = shell_spec(tmp_path, "Range('x', 1, 20, steps=20, integer=True) * Args(sleep=0)")
    env = {"PATH": "%s:%s" % (shim, os.environ["PATH"]), "FAIL_AT": "1"}
    r = run_sweep("run", spec, cwd=tmp_path, env=env)
    assert r.returncode == 2
    assert r.stderr == ("sweep: slurm: sbatch failed for tids 0-7: sbatch: error: Batch job submission failed: "
                        "injected; nothing was queued (root removed)\n")
    assert os.listdir(tmp_path / "out") == []
    os.unlink(shim / "count")
    env["FAIL_AT"] = "2"
    r = run_sweep("run", spec, cwd=tmp_path, env=env)
    assert r.returncode == 2
    root = the_root(tmp_path)
    jobs = json.load(open(layout.jobs_file(root)))
    assert len(jobs) == 1 and jobs[0]["tids"] == list(range(8))
    assert ("sweep: slurm: sbatch failed for tids 8-15: sbatch: error: Batch job submission failed: injected; "
            "queued and recorded in jobs.json: %s (tids 0-7). `sweep resume %s` submits the rest"
            % (jobs[0]["job_id"], root)) in r.stderr
    r = run_sweep("resume", root, "--wait", "--quiet", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sweep.status(root)["counts"] == {"done": 20}
    assert sorted(os.listdir(layout.records_dir(root))) == sorted("tid_%d.0.json" % t for t in range(20))


def test_a_task_finds_its_line_through_the_index(tmp_path):
    launcher = sweep.Launcher("idx", sweep.Range("i", 0, 999, steps=1000, integer=True), sweep.ShellCommand("true"),
                              output_directory=str(tmp_path), quiet=True)
    launcher._check()
    root = launcher._create_root()
    launcher._write_root(root)
    assert os.path.getsize(os.path.join(root, "tasks.idx")) == 8 * 1000
    assert layout.read_task(root, 777)["argv"] == ["true", "-i", "777"]
    os.unlink(os.path.join(root, "tasks.idx"))  # roots written before the index still work
    assert layout.read_task(root, 3)["argv"] == ["true", "-i", "3"]


@needs_slurm
def test_tasks_per_job_packs_short_tasks(tmp_path):
    spec = shell_spec(tmp_path, "(List('x', [-1]) + Range('x', 1, 19, steps=19, integer=True)) * Args(sleep=0)",
                      slurm="tasks_per_job = 4\n")
    r = run_sweep("run", spec, "--wait", "--quiet", cwd=tmp_path, timeout=600)
    assert r.returncode == 1, r.stdout + r.stderr
    root = the_root(tmp_path)
    [job] = json.load(open(layout.jobs_file(root)))
    assert job["slots"] == [list(range(i, min(i + 4, 20))) for i in range(0, 20, 4)]
    assert sorted(os.listdir(layout.records_dir(root))) == sorted("tid_%d.0.json" % t for t in range(20))
    assert sweep.status(root)["counts"] == {"done": 19, "failed": 1}
    recs = [json.load(open(layout.record_path(root, t, 0))) for t in (4, 7)]
    assert recs[0]["slurm_job_id"] == recs[1]["slurm_job_id"]  # one array element ran both
    assert sorted(sweep.collate(root)["y"].dropna().tolist()) == [2.0 * i for i in range(1, 20)]
