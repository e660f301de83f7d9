"""`sweep run` on this machine: real subprocesses, real files, real signals."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import sweep
from sweep import layout
from sweep.errors import SweepError
from conftest import SPECS, listing, run_sweep, write

TASK = r'''
import argparse, json, os, sys, time
ap = argparse.ArgumentParser()
ap.add_argument("-x", type=float, default=0)
ap.add_argument("--sleep", type=float, default=0)
ap.add_argument("--fail", default="")
ap.add_argument("--flaky", default="")
a = ap.parse_args()
time.sleep(a.sleep)
if a.fail == "exit":
    print("bad x", a.x, file=sys.stderr); sys.exit(3)
if a.fail == "signal":
    os.kill(os.getpid(), 9)
if a.flaky and not os.path.exists(a.flaky):
    open(a.flaky, "w").close(); print("first try fails", file=sys.stderr); sys.exit(1)
print(json.dumps({"y": a.x * 2}))
'''


def shell_spec(tmp_path, expr, name="shell", launcher=""):
    write(tmp_path / "task.py", TASK)
    return write(tmp_path / (name + ".toml"), 'name = "%s"\n[space]\nexpr = "%s"\n[run]\ncommand = ["%s", "task.py"]\n'
                 '[launcher]\noutput_directory = "out"\n%s' % (name, expr, sys.executable, launcher))


def the_root(tmp_path, sub="out"):
    roots = [os.path.join(tmp_path, sub, d) for d in os.listdir(tmp_path / sub)]
    assert len(roots) == 1, roots
    return roots[0]


def test_example_sweep_layout(tmp_path):
    r = run_sweep("run", os.path.join(SPECS, "tiny.toml"), "--output-directory", tmp_path / "o", "--quiet")
    assert r.returncode == 0, r.stderr
    root = the_root(tmp_path, "o")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d{4}-tiny", os.path.basename(root))
    log = open(os.path.join(root, "tiny.log")).read().splitlines()
    assert len(log) == 12 and log[0] == '0 {"cortex_density": 8, "learning_rate": 0.05, "seed": 1, "retina_density": 12}'
    info = json.load(open(os.path.join(root, "tiny.info")))
    for key in ("batch_name", "batch_tag", "batch_description", "root_directory", "timestamp", "timestamp_format",
                "varying_keys", "constant_keys", "constant_items", "launcher", "platform", "versions", "metadata",
                "end_time"):
        assert key in info, key
    assert info["varying_keys"] == ["cortex_density", "learning_rate", "seed"] and info["end_time"]
    streams = sorted(os.listdir(os.path.join(root, "streams")))
    assert len(streams) == 24 and all(re.fullmatch(r"tiny_\d{6}_tid_(\d+)\.[oe]\.\1", s) for s in streams)
    assert sorted(os.listdir(os.path.join(root, "spec"))) == ["tiny.py", "tiny.toml"]
    recs = os.listdir(os.path.join(root, "records"))
    assert len(recs) == 12 and all(json.load(open(os.path.join(root, "records", f)))["state"] == "done" for f in recs)
    runs = [d for d in os.listdir(root) if d.startswith(time.strftime("%Y")) and "_tiny_tid" in d]
    assert len(runs) == 12 and any(d.endswith("_tiny_tid0,cortex_density=8,learning_rate=0.05,seed=1") for d in runs)
    assert "sweep tiny: 12 done in" in r.stdout and "Collated 48 row(s)" in r.stdout
    assert os.path.isfile(os.path.join(root, "collated.csv"))


def test_failures_are_recorded_with_evidence_and_the_sweep_goes_on(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2, 3]) * List('fail', ['', 'exit', 'signal'])")
    r = run_sweep("run", spec, "--quiet", cwd=tmp_path)
    assert r.returncode == 1
    root = the_root(tmp_path)
    st = sweep.status(root)
    assert st["counts"] == {"done": 3, "failed": 6}
    assert "sweep shell: 3 done, 6 failed" in r.stdout
    assert re.search(r"tid 1: failed \(exit code 3\)  \[x=1, fail=exit\]", r.stdout)
    assert re.search(r"tid 2: failed \(signal SIGKILL\)  \[x=1, fail=signal\]", r.stdout)
    assert "| bad x 1.0" in r.stdout
    assert re.search(r"stderr: .*/streams/shell_\d{6}_tid_1\.e\.1", r.stdout)
    rec = json.load(open(layout.record_path(root, 1, 0)))
    assert rec["state"] == "failed" and rec["exit_code"] == 3 and rec["stderr_tail"] == ["bad x 1.0"]


def test_timeout_kills_the_task(tmp_path):
    spec = shell_spec(tmp_path, "List('sleep', [0, 30])")
    t0 = time.monotonic()
    r = run_sweep("run", spec, "--timeout", "1", "--quiet", cwd=tmp_path)
    assert time.monotonic() - t0 < 15
    assert r.returncode == 1
    assert "tid 1: timeout (signal SIGTERM)" in r.stdout
    assert sweep.status(the_root(tmp_path))["counts"] == {"done": 1, "timeout": 1}


def test_retries_keep_every_attempt(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1]) * Args(flaky='%s')" % (tmp_path / "flag"))
    r = run_sweep("run", spec, "--retries", "2", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    root = the_root(tmp_path)
    assert sorted(os.listdir(os.path.join(root, "records"))) == ["tid_0.0.json", "tid_0.1.json"]
    assert json.load(open(layout.record_path(root, 0, 0)))["state"] == "failed"
    assert json.load(open(layout.record_path(root, 0, 1)))["state"] == "done"
    streams = sorted(os.listdir(os.path.join(root, "streams")))
    assert len(streams) == 4 and any("_tid_0-r1.o.0" in s for s in streams)


def test_fail_fast_stops_launching(tmp_path):
    spec = shell_spec(tmp_path, "List('fail', ['exit']) * List('x', [1, 2, 3, 4, 5, 6])")
    r = run_sweep("run", spec, "--fail-fast", "--max-concurrency", "1", "--quiet", cwd=tmp_path)
    assert r.returncode == 1
    st = sweep.status(the_root(tmp_path))
    assert st["counts"] == {"failed": 1, "pending": 5}
    assert "5 task(s) not started (--fail-fast). Resume with: sweep resume" in r.stdout


def test_dry_run_writes_nothing(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2])")
    before = listing(tmp_path)
    r = run_sweep("run", spec, "--dry-run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "Items: 2"
    assert re.search(r"^1: \S+python\S* \S+task.py -x 2$", r.stdout, re.M)
    assert listing(tmp_path) == before


def test_progress_lines_when_not_a_terminal(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2])")
    r = run_sweep("run", spec, cwd=tmp_path)
    assert re.search(r"\[2/2\] done 2, failed 0, running 0, queued 0 \| [\d.]+ tasks/s", r.stderr)
    q = run_sweep("run", spec, "--quiet", cwd=tmp_path)
    assert q.stderr == ""


def test_two_sweeps_in_the_same_minute_get_distinct_roots(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2, 3])")
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-m", "sweep", "run", spec, "--quiet"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(3)]
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    roots = sorted(os.listdir(tmp_path / "out"))
    assert len(roots) == 3
    for root in roots:
        assert sweep.status(os.path.join(tmp_path, "out", root))["counts"] == {"done": 3}


def test_sigint_terminates_children_and_resume_finishes(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2, 3, 4]) * Args(sleep=30)")
    p = subprocess.Popen([sys.executable, "-m", "sweep", "run", spec, "--quiet"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = _wait_for_running(tmp_path, 2)
    pids = [json.load(open(os.path.join(root, "records", f)))["pid"] for f in os.listdir(os.path.join(root, "records"))]
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    assert time.monotonic() - t0 < 5
    assert p.returncode == 130
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    assert "Interrupted by SIGINT: 4 task(s) not completed. Resume with: sweep resume" in out
    assert sweep.status(root)["counts"] == {"interrupted": 2, "pending": 2}
    # resume with short tasks: make the remaining points quick by resuming with a timeout-free run
    tasks = [json.loads(l) for l in open(layout.tasks_file(root))]
    with open(layout.tasks_file(root), "w") as f:  # shorten the sleeps so the test is quick
        for t in tasks:
            t["argv"] = [a if a != "30" else "0" for a in t["argv"]]
            f.write(json.dumps(t) + "\n")
    r = run_sweep("resume", root, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sweep.status(root)["counts"] == {"done": 4}


def _wait_for_running(tmp_path, n, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.isdir(tmp_path / "out") and os.listdir(tmp_path / "out"):
            root = the_root(tmp_path)
            recs = os.path.join(root, "records")
            if os.path.isdir(recs) and len(os.listdir(recs)) >= n:
                return root
        time.sleep(0.05)
    raise AssertionError("sweep did not start %d tasks" % n)


def test_kill_9_then_resume_matches_an_uninterrupted_sweep(tmp_path):
    spec = os.path.join(SPECS, "tiny.toml")
    ref = run_sweep("run", spec, "--output-directory", tmp_path / "ref", "--quiet")
    assert ref.returncode == 0, ref.stderr
    p = subprocess.Popen([sys.executable, "-m", "sweep", "run", spec, "--output-directory", "out", "--quiet",
                          "--max-concurrency", "2"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    root = _wait_for_running(tmp_path, 5, timeout=60)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert sweep.status(root)["counts"].get("done", 0) < 12
    r = run_sweep("resume", root, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sweep.status(root)["counts"] == {"done": 12}
    got = sweep.collate(root)
    want = sweep.collate(the_root(tmp_path, "ref"))
    cols = ["_tid", "_time", "cortex_density", "learning_rate", "seed", "quantization_error", "topographic_error"]
    assert got[cols].equals(want[cols])
    assert got.groupby("_tid").size().tolist() == [4] * 12  # every task's results exactly once
    again = run_sweep("resume", root)
    assert again.returncode == 0 and "Nothing to resume" in again.stdout


def test_into_adds_points_and_runs_only_what_is_missing(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2])")
    assert run_sweep("run", spec, "--quiet", cwd=tmp_path).returncode == 0
    root = the_root(tmp_path)
    bigger = shell_spec(tmp_path, "List('x', [1, 2, 3, 4])", name="bigger")
    r = run_sweep("run", bigger, "--into", root, "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sweep.status(root)["counts"] == {"done": 4}
    assert sorted(os.listdir(os.path.join(root, "records"))) == ["tid_%d.0.json" % i for i in range(4)]
    assert len(open(os.path.join(root, "shell.log")).read().splitlines()) == 4


def test_review_asks_before_launching(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2])")
    r = run_sweep("run", spec, "--review", cwd=tmp_path, input="n\nn\n")
    assert r.returncode == 1 and "Aborted: nothing launched." in r.stdout
    assert "Items: 2" in r.stdout and "Command executable" in r.stdout and "Batch Name: 'shell'" in r.stdout
    assert not os.path.exists(tmp_path / "out")
    r = run_sweep("run", spec, "--review", "--quiet", cwd=tmp_path, input="n\ny\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sweep.status(the_root(tmp_path))["counts"] == {"done": 2}


def test_python_api_launcher_and_review_and_launch(tmp_path):
    write(tmp_path / "task.py", TASK)
    args = sweep.List("x", [1, 2]) * sweep.Args(sleep=0)
    cmd = sweep.ShellCommand(sys.executable, args=[str(tmp_path / "task.py")])
    outcome = sweep.Launcher("api", args, cmd, output_directory=str(tmp_path / "o"), quiet=True)()
    assert outcome.done == 2 and outcome.exit_status == 0

    @sweep.review_and_launch(output_directory=str(tmp_path / "r"), review=False)
    def launch():
        return sweep.Launcher("reviewed", args, cmd, quiet=True)

    [result] = launch()
    assert result.done == 2


def test_shell_command_semantics():
    cmd = sweep.ShellCommand("prog", posargs=["pos"], expansions={"out": sweep.ShellCommand.Expand("{batch_name}_{tid}.o")})
    argv = cmd({"pos": "p", "flag": True, "off": False, "a": 1, "long": 2.5}, 3, {"batch_name": "b"})
    assert argv == ["prog", "--out", "b_3.o", "--flag", "-a", "1", "--long", "2.5", "p"]  # posargs last, as Lancet
    lf = sweep.ShellCommand.LongFilename(".npz")({"a": 1, "c": 2}, {"root_directory": "/r", "batch_name": "b",
                                                                    "varying_keys": ["a"]}, 4)
    assert lf == "/r/b_a=1_tid=4.npz"


# --- bad input: one line, exit 2, nothing written --------------------------------------------


def test_output_directory_cannot_be_written(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1])")
    write(tmp_path / "afile", "")
    before = listing(tmp_path)
    r = run_sweep("run", spec, "--output-directory", "afile/sub", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == "sweep: cannot create output directory %s: Not a directory\n" % (tmp_path / "afile" / "sub")
    assert listing(tmp_path) == before


def test_batch_name_with_path_separator(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1])", name="ok")
    text = open(spec).read().replace('name = "ok"', 'name = "a/b"')
    write(spec, text)
    r = run_sweep("run", spec, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == "sweep: batch name 'a/b' must be a plain name without a path separator\n"
    assert not os.path.exists(tmp_path / "out")
    with pytest.raises(SweepError, match="batch name 'x/y' must be a plain name"):
        sweep.Launcher("x/y", sweep.List("x", [1]), sweep.ShellCommand("true"), output_directory=str(tmp_path))()


def test_missing_executable_or_script_is_caught_before_anything_runs(tmp_path):
    write(tmp_path / "a.toml", '[space]\nexpr = "List(\'x\', [1])"\n[run]\ncommand = "no-such-program-xyz"\n')
    r = run_sweep("run", "a.toml", "--output-directory", "out", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (2, "sweep: command: executable not found: no-such-program-xyz\n")
    write(tmp_path / "b.toml", '[space]\nexpr = "List(\'x\', [1])"\n[run]\nscript = "missing.py"\n')
    r = run_sweep("run", "b.toml", "--output-directory", "out", cwd=tmp_path)
    assert (r.returncode, r.stderr) == (2, "sweep: command: model script not found: %s\n" % (tmp_path / "missing.py"))
    assert not os.path.exists(tmp_path / "out")


def test_status_and_resume_of_something_that_is_not_a_root(tmp_path):
    for cmd in ("status", "resume"):
        r = run_sweep(cmd, tmp_path)
        assert r.returncode == 2
        assert r.stderr == "sweep: %s: not a sweep root (no <batch>.info and <batch>.log files)\n" % tmp_path
    r = run_sweep("status", tmp_path / "nope")
    assert r.stderr == "sweep: %s: no such directory\n" % (tmp_path / "nope")


def test_into_a_root_running_something_else(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1])")
    assert run_sweep("run", spec, "--quiet", cwd=tmp_path).returncode == 0
    root = the_root(tmp_path)
    before = listing(root)
    r = run_sweep("run", os.path.join(SPECS, "tiny.toml"), "--into", root)
    assert r.returncode == 2
    assert r.stderr == ("sweep: --into %s: that sweep runs command %s %s, this spec runs script tiny.py; "
                        "refusing to mix them\n" % (root, sys.executable, tmp_path / "task.py"))
    assert listing(root) == before


def test_status_lists_counts_and_failed_tids(tmp_path):
    spec = shell_spec(tmp_path, "List('fail', ['', 'exit'])")
    run_sweep("run", spec, "--quiet", cwd=tmp_path)
    r = run_sweep("status", the_root(tmp_path))
    assert r.returncode == 0
    assert "  done 1, failed 1" in r.stdout and "Not completed after running: 1" in r.stdout


def test_resume_of_a_moved_root_writes_inside_its_new_location(tmp_path):
    flag = tmp_path / "flag"
    write(tmp_path / "flaky.py", "import os, param\nfrom sweep import global_params as p\n"
          "p.add(x=param.Integer(1))\nif p.x == 2 and not os.path.exists(%r):\n"
          "    open(%r, 'w').close()\n    raise RuntimeError('first attempt fails')\n"
          "def results():\n    return {'y': p.x}\n" % (str(flag), str(flag)))
    write(tmp_path / "f.toml", '[space]\nexpr = "List(\'x\', [1, 2])"\n[run]\nscript = "flaky.py"\ntimes = [1]\n')
    r = run_sweep("run", "f.toml", "--output-directory", "out", "--quiet", cwd=tmp_path)
    assert r.returncode == 1
    old = the_root(tmp_path)
    new = str(tmp_path / "moved")
    os.rename(old, new)
    r = run_sweep("resume", new, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(old)
    df = sweep.collate(new)
    assert df["y"].tolist() == [1, 2] and df["_run_dir"].str.startswith(new).all()
    assert os.listdir(os.path.join(new, "attempts"))  # the failed attempt's run directory, kept aside


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(SPECS) if n.endswith(".toml")
                                        and "slurm" not in n))
def test_every_local_example_spec_runs(name, tmp_path):
    """psweep's rule: every example runs (the Slurm example runs in test_slurm.py)."""
    r = run_sweep("run", os.path.join(SPECS, name), "--output-directory", tmp_path, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    root = the_root(tmp_path, ".")
    df = sweep.collate(root)
    assert (df["_status"] == "done").all() and len(df) >= len(open(os.path.join(
        root, layout.find_batch_name(root) + ".log")).read().splitlines())
    results = [c for c in df.columns if not c.startswith("_") and c not in sweep.Log(
        os.path.join(root, layout.find_batch_name(root) + ".log")).specs[0]]
    assert results and not df[results].isna().all().any()


def test_review_and_launch_refuses_an_existing_root(tmp_path):
    args, cmd = sweep.List("x", [1]), sweep.ShellCommand("true")
    now = time.time()
    for t in (now, now + 60):  # review_and_launch stamps the launch itself, maybe in the next minute
        os.makedirs(tmp_path / ("%s-taken" % time.strftime(layout.DEFAULT_TIMESTAMP_FORMAT, time.localtime(t))))

    @sweep.review_and_launch(output_directory=str(tmp_path), review=False)
    def launch():
        return sweep.Launcher("taken", args, cmd, quiet=True)

    with pytest.raises(SweepError, match="review_and_launch: root directory already exists: "):
        launch()
    answers = iter(["n", "n"])
    reviewed = sweep.review_and_launch(output_directory=str(tmp_path), input_fn=lambda prompt: next(answers))
    assert reviewed(lambda: sweep.Launcher("fresh", args, cmd, quiet=True))() is False
    assert not any(n.endswith("-fresh") for n in os.listdir(tmp_path))


def test_resume_refuses_while_the_launcher_is_alive(tmp_path):
    spec = shell_spec(tmp_path, "List('x', [1, 2, 3]) * Args(sleep=30)")
    p = subprocess.Popen([sys.executable, "-m", "sweep", "run", spec, "--quiet"], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = _wait_for_running(tmp_path, 2)
    r = run_sweep("resume", root)
    assert r.returncode == 2
    assert r.stderr == ("sweep: %s: the sweep is still running (launcher pid %d); wait for it or stop it first\n"
                        % (root, p.pid))
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 130 and "Interrupted by SIGTERM" in out


def test_unknown_launcher_options_list_the_valid_ones():
    with pytest.raises(SweepError) as e:
        sweep.Launcher("x", sweep.List("a", [1]), sweep.ShellCommand("true"), max_concurency=2)
    assert str(e.value).startswith("Launcher: unknown option 'max_concurency'; valid options: description, "
                                   "fail_fast, max_concurrency, metadata, output_directory, quiet, reduction_fn,")


def test_live_progress_line_on_a_terminal(tmp_path):
    import pty

    spec = shell_spec(tmp_path, "List('x', [1, 2, 3])")
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "sweep", "run", spec], cwd=tmp_path, stdin=slave, stdout=slave,
                         stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        out += chunk
    p.wait(30)
    os.close(master)
    text = out.decode(errors="replace")
    assert p.returncode == 0, text
    assert "\r\x1b[K[3/3] done 3, failed 0, running 0, queued 0" in text
    assert "sweep shell: 3 done in" in text


def test_a_key_the_script_does_not_declare_is_flagged_before_launch(tmp_path):
    tiny = os.path.join(SPECS, "tiny.toml")
    warning = ("sweep: warning: tiny.py does not declare parameter 'cortex_densty' (did you mean 'cortex_density'?): "
               "its tasks will fail unless the script declares it elsewhere (declared: retina_density, "
               "cortex_density, learning_rate, radius, input_width, decay_time, seed)\n")
    r = run_sweep("run", tiny, "-p", "cortex_densty=3", "--dry-run", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == warning
    assert run_sweep("run", tiny, "--dry-run", cwd=tmp_path).stderr == ""
    r = run_sweep("run", tiny, "-p", "cortex_densty=3", "--quiet", "--output-directory", "out", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.count("sweep: warning:") == 1 and r.stderr.startswith(warning)
    assert "sweep tiny: 12 failed" in r.stdout  # the warning does not stop the sweep: the script may declare it elsewhere


def test_declarations_read_from_source_only_when_they_can_all_be_seen(tmp_path):
    from sweep.batch import declared_in_source

    seen = write(tmp_path / "a.py", "import param\nimport sweep as s\nfrom sweep import global_params as g\n"
                 "g.add(x=param.Number(1))\ns.global_params.add(y=param.Number(2))\n")
    assert declared_in_source(seen) == ["x", "y"]
    hidden = write(tmp_path / "b.py", "from sweep import global_params as g\nd = {}\ng.add(x=1, **d)\n")
    assert declared_in_source(hidden) is None
    assert declared_in_source(write(tmp_path / "c.py", "import model  # declares in another module\n")) is None
    assert declared_in_source(write(tmp_path / "d.py", "def (:\n")) is None


def test_review_and_launch_with_launch_args_runs_one_launcher_per_point(tmp_path, capsys):
    write(tmp_path / "task.py", TASK)
    cmd = sweep.ShellCommand(sys.executable, args=[str(tmp_path / "task.py")])
    answers = iter(["n", "n", "y"])  # the command lines of each launch: no; execute all: yes

    @sweep.review_and_launch(output_directory=str(tmp_path / "o"), launch_args=sweep.List("seed", [1, 2]),
                             input_fn=lambda prompt: next(answers))
    def launch(seed):
        return sweep.Launcher("seed%d" % seed, sweep.List("x", [seed]) * sweep.Args(sleep=0), cmd, quiet=True)

    outcomes = launch()
    assert [o.done for o in outcomes] == [1, 1]
    roots = sorted(os.listdir(tmp_path / "o"))
    assert [r.split("-")[-1] for r in roots] == ["seed1", "seed2"]
    assert len({r.rsplit("-", 1)[0] for r in roots}) == 1  # one shared timestamp
    assert "Meta arguments (one launch each)" in capsys.readouterr().out

    @sweep.review_and_launch(output_directory=str(tmp_path / "p"), launch_args=sweep.List("seed", [1, 2]),
                             review=False)
    def clash(seed):
        return sweep.Launcher("same", sweep.List("x", [seed]), cmd, quiet=True)

    with pytest.raises(SweepError, match=r"review_and_launch: each launcher needs its own root directory, .*same "
                                         r"is given twice \(give them distinct batch names\)"):
        clash()
    assert not os.path.exists(tmp_path / "p")
