"""Run one task: the code path every launcher shares.

The local launcher calls `start` and `finish` in-process (no extra Python
per task); a Slurm array task runs `python -m sweep.worker ROOT OFFSET` (or
`ROOT --slots FILE`), which calls the same two functions around a blocking wait.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from . import layout

STDERR_TAIL_LINES = 10


@dataclass
class Task:
    """One attempt of one task, from start to its record."""

    root: str
    batch_name: str
    tid: int
    attempt: int
    argv: list[str]
    run_dir: str | None = None
    stdout: str = ""
    stderr: str = ""
    proc: subprocess.Popen | None = None
    started: float = 0.0
    record: dict = field(default_factory=dict)
    timed_out: bool = False
    interrupted: bool = False
    state: str | None = None  # set when the final state is known from outside (Slurm)


def _move_aside(root: str, run_dir: str | None, attempt: int) -> None:
    """A run directory left by an unfinished attempt is moved to attempts/ so the task can start clean."""
    if not run_dir:
        return
    path = os.path.join(root, run_dir)
    if os.path.lexists(path):
        os.makedirs(layout.attempts_dir(root), exist_ok=True)
        os.replace(path, os.path.join(layout.attempts_dir(root), "%s.attempt%d" % (run_dir, attempt)))


def start(task: Task, extra: dict | None = None, base_env: dict[str, str] | None = None) -> Task:
    """Start the task's process with its streams redirected, in its own process group; record it running.

    `base_env` (default: os.environ) lets a launcher starting thousands of tasks decode the environment once.
    """
    task.stdout, task.stderr = layout.stream_paths(task.root, task.batch_name, task.tid, task.attempt,
                                                   time.strftime("%H%M%S"))
    _move_aside(task.root, task.run_dir, task.attempt)
    env = dict(os.environ if base_env is None else base_env)
    env[layout.TASK_ENV] = "%s::%d::%d" % (task.root, task.tid, task.attempt)
    task.started = time.time()
    task.record = {"tid": task.tid, "attempt": task.attempt, "state": "running", "started": task.started,
                   "host": platform.node(), "stdout": os.path.relpath(task.stdout, task.root),
                   "stderr": os.path.relpath(task.stderr, task.root), "run_dir": task.run_dir}
    if extra:
        task.record.update(extra)
    with open(task.stdout, "wb") as out, open(task.stderr, "wb") as err:
        try:
            task.proc = subprocess.Popen(layout.local_argv(task.argv, task.root), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        except OSError as exc:
            err.write(("sweep: cannot start %s: %s\n" % (task.argv[0], exc.strerror)).encode())
            task.proc = None
    if task.proc is not None:
        task.record["pid"] = task.proc.pid
        layout.write_json_atomic(layout.record_path(task.root, task.tid, task.attempt), task.record, fsync=False)
    return task


def stderr_tail(path: str, lines: int = STDERR_TAIL_LINES) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            data = f.read()
    except OSError:
        return []
    return data.decode(errors="replace").splitlines()[-lines:]


def finish(task: Task, returncode: int | None) -> dict:
    """Write the task's final record atomically (after fsyncing its stdout) and return it."""
    conclude(task, returncode)
    return write_final_record(task)


def conclude(task: Task, returncode: int | None) -> dict:
    """Fill in the task's final record (state, exit code or signal, stderr tail) without writing it."""
    ended = time.time()
    rec = task.record
    rec.update(ended=ended, duration=ended - task.started, exit_code=None, signal=None)
    if task.proc is None:
        state = "failed"
        rec["exit_code"] = 127
    elif task.state:
        state = task.state
    elif task.interrupted:
        state = "interrupted"
    elif task.timed_out:
        state = "timeout"
    elif returncode == 0:
        state = "done"
    else:
        state = "failed"
    if returncode is not None and returncode < 0:
        rec["signal"] = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else -returncode
    elif returncode is not None:
        rec["exit_code"] = returncode
    rec["state"] = state
    if state != "done":
        rec["stderr_tail"] = stderr_tail(os.path.join(task.root, rec["stderr"]))
    return rec


def write_final_record(task: Task) -> dict:
    """Write the concluded record atomically, after fsyncing the stdout it may vouch for."""
    rec = task.record
    try:  # results printed to stdout must be on disk before the record says done
        fd = os.open(os.path.join(task.root, rec["stdout"]), os.O_RDONLY)
        try:
            if os.fstat(fd).st_size:
                os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    layout.write_json_atomic(layout.record_path(task.root, task.tid, task.attempt), rec)
    return rec


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def next_attempt(root: str, tid: int) -> int:
    prefix = "tid_%d." % tid
    try:
        names = os.listdir(layout.records_dir(root))
    except OSError:
        return 0
    attempts = [int(m.group(2)) for n in names if n.startswith(prefix) for m in [layout.RECORD_RE.match(n)] if m]
    return max(attempts) + 1 if attempts else 0


def _seconds(text: str) -> float | None:
    """Slurm durations: [days-]hours:minutes:seconds."""
    days, _, rest = text.rpartition("-")
    parts = rest.split(":")
    if not all(p.isdigit() for p in parts):
        return None
    value = 0.0
    for p in parts:
        value = value * 60 + int(p)
    return value + (int(days) * 86400 if days.isdigit() else 0)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGHUP)


def _killed_by_stop_signal(returncode: int) -> bool:
    """The task died from (or exited 128+N on) a signal Slurm uses to stop jobs."""
    return any(returncode in (-sig, 128 + sig) for sig in STOP_SIGNALS)


def _slurm_signal_reason() -> str | None:
    """Why Slurm is stopping this job: "timeout", "cancelled" or "interrupted"; None while it runs on.

    At the moment of the signal the job is often still COMPLETING; `sweep status` settles the rest
    from Slurm's final state.
    """
    job = os.environ.get("SLURM_JOB_ID")
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", job or ""], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "interrupted"
    fields = dict(p.split("=", 1) for p in out.split() if "=" in p)
    state = fields.get("JobState", "")
    limit, run = _seconds(fields.get("TimeLimit", "")), _seconds(fields.get("RunTime", ""))
    if state in ("TIMEOUT", "DEADLINE") or (limit and run is not None and run >= limit):
        return "timeout"
    if state == "RUNNING":
        return None
    return "cancelled" if state == "CANCELLED" else "interrupted"


def main(argv: list[str] | None = None) -> int:
    """A Slurm array task: `python -m sweep.worker ROOT OFFSET` runs tid OFFSET + SLURM_ARRAY_TASK_ID;
    `python -m sweep.worker ROOT --slots FILE` runs the tids of its array index one after another."""
    argv = sys.argv[1:] if argv is None else argv
    root = argv[0]
    index = int(os.environ.get("SLURM_ARRAY_TASK_ID", "0"))
    if argv[1] == "--slots":
        with open(argv[2]) as f:
            tids = json.load(f)[index]
    else:
        tids = [int(argv[1]) + index]
    batch_name = layout.find_batch_name(root) or "sweep"
    extra = {"slurm_job_id": os.environ.get("SLURM_JOB_ID"),
             "slurm_array_job_id": os.environ.get("SLURM_ARRAY_JOB_ID"),
             "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID")}
    signalled: list[int] = []
    current: list[Task] = []

    def on_signal(signum: int, frame: Any) -> None:  # scancel or the time limit: pass it on, record why
        signalled.append(signum)
        if current and current[0].proc is not None:
            kill_group(current[0].proc, signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    all_done = True
    for tid in tids:
        if signalled:  # the rest of this job's tasks never start; resume runs them
            break
        entry = layout.read_task(root, tid)
        task = Task(root, batch_name, tid, next_attempt(root, tid), entry["argv"], entry.get("run_dir"))
        current[:] = [task]
        start(task, extra)
        rc = task.proc.wait() if task.proc is not None else 127
        # Slurm signals every process of the job, so the task may die before this worker sees its own signal
        if signalled or _killed_by_stop_signal(rc):
            reason = _slurm_signal_reason()
            if signalled or reason:  # (killed while its job runs on: someone else's signal, a plain failure)
                task.state = reason or "interrupted"
                signalled.append(signal.SIGTERM)
        all_done = finish(task, rc)["state"] == "done" and all_done
    return 0 if all_done and not signalled else 1


if __name__ == "__main__":
    raise SystemExit(main())
