"""The Slurm launcher: job arrays, one sbatch call per chunk, every task run by the shared worker."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time


import param

from .. import layout
from ..errors import SweepError
from . import state as statemod
from .base import BaseLauncher, Outcome, finalize
from .progress import Progress

FALLBACK_MAX_ARRAY_SIZE = 1001
OPTIONS = ("partition", "time", "mem", "cpus_per_task", "account", "qos", "max_running", "tasks_per_job",
           "sbatch_args", "setup")

# Slurm job states -> our task states
SLURM_STATES = {
    "PENDING": "pending", "CONFIGURING": "running", "RUNNING": "running", "COMPLETING": "running",
    "SUSPENDED": "running", "REQUEUED": "pending", "RESIZING": "running",
    "COMPLETED": "done", "FAILED": "failed", "NODE_FAIL": "failed", "BOOT_FAIL": "failed",
    "OUT_OF_MEMORY": "failed", "DEADLINE": "timeout", "TIMEOUT": "timeout", "CANCELLED": "cancelled",
    "PREEMPTED": "interrupted", "REVOKED": "cancelled",
}


class SlurmLauncher(BaseLauncher):
    """Submit the sweep to Slurm as job arrays (`SlurmLauncher(batch_name, args, command, **options)()`)."""

    kind = "slurm"
    partition = param.String(default=None, allow_None=True, doc="Partition (sbatch --partition).")
    time = param.String(default=None, allow_None=True, doc="Time limit of each task, e.g. '1:00:00' (sbatch --time).")
    mem = param.String(default=None, allow_None=True, doc="Memory of each task, e.g. '4G' (sbatch --mem).")
    cpus_per_task = param.Integer(default=None, allow_None=True, bounds=(1, None), doc="CPUs of each task.")
    account = param.String(default=None, allow_None=True, doc="Account to charge (sbatch --account).")
    qos = param.String(default=None, allow_None=True, doc="Quality of service (sbatch --qos).")
    max_running = param.Integer(default=None, allow_None=True, bounds=(1, None), doc="Array throttle: at most this many tasks at once (%N).")
    tasks_per_job = param.Integer(default=1, bounds=(1, None), doc="Tasks run one after another in each array element: fewer, longer jobs when tasks are short.")
    sbatch_args = param.List(default=[], doc="Extra sbatch arguments, e.g. ['--constraint=gpu'].")
    setup = param.List(default=[], doc="Shell lines run before each task (module loads, environment activation).")
    wait = param.Boolean(default=False, doc="Follow the sweep until it ends, then collate (default: return once submitted).")

    def settings(self) -> dict:
        out = super().settings()
        out.update({k: getattr(self, k) for k in OPTIONS})
        out["wait"] = self.wait
        return out

    def _check(self) -> None:
        super()._check()
        if shutil.which("sbatch") is None:
            raise SweepError("slurm: sbatch not found on PATH; is this a Slurm cluster?")

    def _run(self, root: str, todo: list[tuple[int, int]]) -> Outcome:
        return submit(statemod.load_root(root), todo, dict(self.settings(), quiet=self.quiet), fresh=True)


def max_array_size() -> int:
    """MaxArraySize from `scontrol show config` (it caps the array index), else 1001."""
    try:
        out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return FALLBACK_MAX_ARRAY_SIZE
    m = re.search(r"^MaxArraySize\s*=\s*(\d+)", out, re.M)
    return int(m.group(1)) if m else FALLBACK_MAX_ARRAY_SIZE


def chunk_tids(tids: list[int], max_array: int) -> list[tuple[int, list[int]]]:
    """Group tids so that every array index (tid - offset) stays below MaxArraySize."""
    chunks: list[tuple[int, list[int]]] = []
    for tid in sorted(tids):
        if chunks and tid - chunks[-1][0] < max_array:
            chunks[-1][1].append(tid)
        else:
            chunks.append((tid, [tid]))
    return chunks


def index_ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2,5,7-8'."""
    parts, start, prev = [], None, None
    for i in indices:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            parts.append(str(start) if start == prev else "%d-%d" % (start, prev))
            start = prev = i
    if start is not None:
        parts.append(str(start) if start == prev else "%d-%d" % (start, prev))
    return ",".join(parts)


def slot_chunks(tids: list[int], max_array: int, per_job: int) -> list[list[list[int]]]:
    """tasks_per_job > 1: slots of `per_job` tids, at most MaxArraySize slots (indices 0..) per chunk."""
    slots = [tids[i:i + per_job] for i in range(0, len(tids), per_job)]
    return [slots[i:i + max_array] for i in range(0, len(slots), max_array)]


def sbatch_argv(r: statemod.Root, array: str, settings: dict) -> list[str]:
    """The sbatch options of one chunk, as arguments (no quoting trouble with spaces in paths)."""
    if settings.get("max_running"):
        array += "%%%d" % settings["max_running"]
    argv = ["sbatch", "--parsable", "--job-name=%s" % r.batch_name, "--array=%s" % array,
            "--output=%s" % os.path.join(layout.streams_dir(r.path), "slurm-%A_%a.out")]
    flags = {"partition": "--partition", "time": "--time", "mem": "--mem", "cpus_per_task": "--cpus-per-task",
             "account": "--account", "qos": "--qos"}
    for key, flag in flags.items():
        if settings.get(key) is not None:
            argv.append("%s=%s" % (flag, settings[key]))
    return argv + [str(a) for a in settings.get("sbatch_args") or []]


def job_script(r: statemod.Root, worker_args: list[str], settings: dict) -> str:
    """The batch script: the setup lines, then the shared worker for this array task."""
    lines = ["#!/bin/sh", "cd %s || exit 1" % shlex.quote(os.getcwd())] + list(settings.get("setup") or [])
    lines.append(" ".join(["exec", shlex.quote(sys.executable), "-m", "sweep.worker", shlex.quote(r.path)]
                          + [shlex.quote(a) for a in worker_args]))
    return "\n".join(lines) + "\n"


def tasks_of(job: dict, index: int) -> list[int]:
    """The tids array index `index` of a submitted chunk runs."""
    slots = job.get("slots")
    if slots is None:
        return [job["offset"] + index]
    return slots[index] if 0 <= index < len(slots) else []


def load_jobs(root: str) -> list[dict]:
    try:
        return layout.read_json(layout.jobs_file(root))
    except (OSError, ValueError):
        return []


def submit(r: statemod.Root, todo: list[tuple[int, int]], settings: dict, fresh: bool = False) -> Outcome:
    """One sbatch per chunk; each submitted chunk is recorded in jobs.json before the next is tried."""
    tids = sorted({tid for tid, _ in todo})
    per_job = int(settings.get("tasks_per_job") or 1)
    jobs = load_jobs(r.path)
    if per_job == 1:  # array index = tid - offset: no file needed to find a task
        plan = [(ctids, index_ranges([t - offset for t in ctids]), [str(offset)], {"offset": offset})
                for offset, ctids in chunk_tids(tids, max_array_size())]
    else:
        plan = []
        for n, slots in enumerate(slot_chunks(tids, max_array_size(), per_job)):
            path = layout.slots_file(r.path, len(jobs) + n)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            layout.write_json_atomic(path, slots)
            plan.append(([t for slot in slots for t in slot], "0-%d" % (len(slots) - 1), ["--slots", path],
                         {"offset": None, "slots": slots}))
    done_now: list[dict] = []
    for ctids, array, worker_args, extra in plan:
        try:
            p = subprocess.run(sbatch_argv(r, array, settings), input=job_script(r, worker_args, settings),
                               capture_output=True, text=True, timeout=120)
            error = None if p.returncode == 0 else (p.stderr.strip() or "exit status %d" % p.returncode)
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = str(exc)
        if error:
            _submission_failed(r, ctids, done_now, error, fresh)
        job = dict({"job_id": p.stdout.strip().split(";")[0], "tids": ctids, "submitted": time.time()}, **extra)
        jobs.append(job)
        done_now.append(job)
        layout.write_json_atomic(layout.jobs_file(r.path), jobs)
    outcome = Outcome(r.path, submitted=True)
    if settings.get("wait"):
        return wait_for(r, [j["job_id"] for j in done_now], settings, len(tids))
    return outcome


def _submission_failed(r: statemod.Root, tids: list[int], done_now: list[dict], error: str, fresh: bool) -> None:
    what = "tids %d-%d" % (tids[0], tids[-1]) if len(tids) > 1 else "tid %d" % tids[0]
    if not done_now:
        if fresh:  # nothing was queued: leave nothing that looks like a sweep
            shutil.rmtree(r.path, ignore_errors=True)
            raise SweepError("slurm: sbatch failed for %s: %s; nothing was queued (root removed)" % (what, error))
        raise SweepError("slurm: sbatch failed for %s: %s; nothing was queued" % (what, error))
    queued = ", ".join("%s (tids %d-%d)" % (j["job_id"], j["tids"][0], j["tids"][-1]) for j in done_now)
    raise SweepError("slurm: sbatch failed for %s: %s; queued and recorded in jobs.json: %s. "
                     "`sweep resume %s` submits the rest; `sweep cancel %s` cancels what was queued"
                     % (what, error, queued, r.path, r.path))


def wait_for(r: statemod.Root, job_ids: list[str], settings: dict, total: int) -> Outcome:
    """Block on a dependent one-task job (srun returns when Slurm says they all ended), showing progress."""
    started = time.monotonic()
    argv = ["srun", "--quiet", "-n1", "-J", "%s-wait" % r.batch_name, "--dependency=afterany:" + ":".join(job_ids)]
    for key in ("partition", "account", "qos"):
        if settings.get(key):
            argv.append("--%s=%s" % (key, settings[key]))
    proc = subprocess.Popen(argv + ["true"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    progress = Progress(total, quiet=bool(settings.get("quiet")))
    try:
        while True:
            try:
                proc.wait(timeout=None if progress.quiet else max(progress.next_refresh, 0.5))
                break
            except subprocess.TimeoutExpired:
                c = statemod.counts(statemod.task_states(r))
                progress.update(c.get("done", 0), total - c.get("done", 0) - c.get("running", 0)
                                - c.get("pending", 0), c.get("running", 0))
    except KeyboardInterrupt:
        proc.terminate()
        out = Outcome(r.path, submitted=True, interrupted="SIGINT")
        print("Stopped following; the jobs keep running. Follow with `sweep status %s`" % r.path)
        return out
    states = statemod.task_states(r)
    refine_states(r, states)
    c = statemod.counts(states)
    progress.update(c.get("done", 0), sum(v for k, v in c.items() if k not in ("done", "pending", "running")), 0,
                    force=True)
    progress.close()
    finalize(r.path)
    return Outcome(r.path, done=c.get("done", 0), failed=len(states) - c.get("done", 0),
                   duration=time.monotonic() - started)


# --- state from Slurm ---------------------------------------------------------------


def _tid_of(jobs: list[dict]) -> dict[str, dict]:
    return {str(j["job_id"]): j for j in jobs}


def squeue_states(jobs: list[dict]) -> dict[int, str]:
    """{tid: state} of the sweep's tasks that Slurm still has queued or running."""
    if not jobs or shutil.which("squeue") is None:
        return {}
    by_id = _tid_of(jobs)
    p = subprocess.run(["squeue", "-h", "-r", "-j", ",".join(by_id), "-o", "%F %K %T"], capture_output=True,
                       text=True, timeout=60)
    out: dict[int, str] = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in by_id and parts[1].isdigit():
            for tid in tasks_of(by_id[parts[0]], int(parts[1])):
                out[tid] = SLURM_STATES.get(parts[2], "running")
    return out


def finished_states(jobs: list[dict]) -> dict[int, str]:
    """{tid: state} of finished array tasks, from sacct when accounting is on, else from scontrol."""
    if not jobs:
        return {}
    by_id = _tid_of(jobs)
    out: dict[int, str] = {}
    if shutil.which("sacct"):
        p = subprocess.run(["sacct", "-n", "-P", "-X", "-j", ",".join(by_id), "-o", "JobID,State"],
                           capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            for line in p.stdout.splitlines():
                jobid, _, st = line.partition("|")
                m = re.fullmatch(r"(\d+)_(\d+)", jobid.strip())
                if m and m.group(1) in by_id:
                    for tid in tasks_of(by_id[m.group(1)], int(m.group(2))):
                        out[tid] = SLURM_STATES.get(st.split()[0], "failed")
            if out:
                return out
    # slurmctld keeps finished jobs for MinJobAge seconds; one call lists them all
    p = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True, timeout=60)
    for line in p.stdout.splitlines():
        array = re.search(r"\bArrayJobId=(\d+)\b", line)
        task = re.search(r"\bArrayTaskId=([\d,\-]+)", line)
        st = re.search(r"\bJobState=(\w+)", line)
        if array and task and st and array.group(1) in by_id:  # a pending remainder: ArrayTaskId=2-5,7
            for index in expand_ranges(task.group(1)):
                for tid in tasks_of(by_id[array.group(1)], index):
                    out[tid] = SLURM_STATES.get(st.group(1), "failed")
    return out


def expand_ranges(text: str) -> list[int]:
    """'0-2,5' -> [0, 1, 2, 5]."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if lo.isdigit():
            out.extend(range(int(lo), int(hi if hi.isdigit() else lo) + 1))
    return out


def refine_states(r: statemod.Root, states: list[statemod.TaskState]) -> None:
    """Merge the file records with what Slurm knows: queued tasks, and tasks killed before their record."""
    jobs = load_jobs(r.path)
    if not jobs:
        return
    active = squeue_states(jobs)
    unsettled = [ts for ts in states if ts.tid not in active
                 and ts.state in ("running", "pending", "lost", "interrupted")]
    finished = finished_states(jobs) if unsettled else {}
    submitted = {t: j["submitted"] for j in jobs for t in j["tids"]}  # the latest submission of each tid
    for ts in states:
        if ts.state == "done":
            continue
        # a record written since the latest submission settles the task, except "interrupted": the worker
        # was signalled before Slurm had settled why, so the task stays active until Slurm says
        settled_since = ts.record is not None and ts.record.get("state") not in ("running", "interrupted") \
            and ts.record.get("started", 0) >= submitted.get(ts.tid, 0)
        if ts.tid in active and not settled_since:  # (a finished task may share its job with running ones)
            ts.state = active[ts.tid]
        elif ts.state == "interrupted" and finished.get(ts.tid) in ("cancelled", "timeout"):
            ts.state = finished[ts.tid]
        elif ts.state in ("running", "pending", "lost"):
            if ts.tid in finished:
                ts.state = finished[ts.tid] if finished[ts.tid] != "done" else "lost"
            elif ts.tid in submitted:
                ts.state = "lost"


def active_tids(r: statemod.Root) -> set[int]:
    return set(squeue_states(load_jobs(r.path)))


def cancel(root: str) -> int:
    r = statemod.load_root(root)
    if r.sweep.get("launcher") != "slurm":
        raise SweepError("%s: not a Slurm sweep (it was run by the %s launcher)" % (root, r.sweep.get("launcher")))
    jobs = load_jobs(r.path)
    active = squeue_states(jobs)
    ids = sorted({str(j["job_id"]) for j in jobs})
    if not ids:
        print("Nothing to cancel: no jobs recorded in %s" % layout.jobs_file(r.path))
        return 0
    p = subprocess.run(["scancel"] + ids, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SweepError("slurm: scancel failed: %s" % (p.stderr.strip() or p.returncode))
    print("Cancelled job(s) %s: %d task(s) were pending or running. Resume with: sweep resume %s"
          % (", ".join(ids), len(active), root))
    return 0
