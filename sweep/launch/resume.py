"""Status, resume and extension of an existing sweep root."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

from .. import layout
from ..errors import SweepError
from . import state as statemod
from .base import Outcome, finalize, task_entries, write_launcher_pid


def status(root: str) -> dict:
    """{'batch_name', 'counts': {state: n}, 'failed': [tids], 'tasks': [TaskState]} of a root."""
    r = statemod.load_root(root)
    states = refined_states(r)
    return {"batch_name": r.batch_name, "counts": statemod.counts(states),
            "failed": [ts.tid for ts in states if ts.state not in ("done", "pending", "running")],
            "tasks": states}


def refined_states(r: statemod.Root, records: dict | None = None) -> list[statemod.TaskState]:
    """Task states from the records, merged with Slurm's queue for Slurm sweeps."""
    states = statemod.task_states(r, records)
    if r.sweep.get("launcher") == "slurm":
        from .slurm import refine_states

        refine_states(r, states)
    return states


def _adopt_or_stop(r: statemod.Root, states: list[statemod.TaskState]) -> None:
    """Settle tasks whose launcher died: adopt a finished run_batch run, stop a still-running orphan."""
    for ts in states:
        if ts.state not in ("running", "lost") or ts.record is None or ts.record.get("slurm_job_id"):
            continue
        rec = dict(ts.record)
        if ts.state == "running":  # an orphan of a killed launcher, still at work
            pid = rec.get("pid")
            print("sweep: stopping orphaned tid %d (pid %s) of a launcher that is gone" % (ts.tid, pid))
            try:
                os.killpg(pid, signal.SIGTERM)
                if not statemod.wait_gone(pid, 5.0):
                    os.killpg(pid, signal.SIGKILL)
                    statemod.wait_gone(pid, 5.0)
            except (ProcessLookupError, PermissionError, TypeError):
                pass
        run = os.path.join(r.path, rec["run_dir"]) if rec.get("run_dir") else None
        adopted = False
        if run and ts.state == "lost":
            try:
                rr = layout.read_json(layout.run_record_path(run))
                adopted = rr.get("status") == "done" and rr.get("tid") == ts.tid and rr.get("attempt") == rec["attempt"]
            except (OSError, ValueError):
                pass
        rec.update(state="done" if adopted else "interrupted", adopted=adopted, ended=time.time())
        layout.write_json_atomic(layout.record_path(r.path, ts.tid, rec["attempt"]), rec)
        ts.state, ts.record = rec["state"], rec


def _check_no_live_launcher(r: statemod.Root) -> None:
    path = layout.launcher_file(r.path)
    try:
        info = layout.read_json(path)
    except (OSError, ValueError):
        return
    if statemod.launcher_alive(info) and info.get("pid") != os.getpid():
        raise SweepError("%s: the sweep is still running (launcher pid %s); wait for it or stop it first"
                         % (r.path, info["pid"]))


def resume(root: str, launcher: str | None = None, **settings: Any) -> Outcome:
    """Run exactly the tasks of `root` that did not complete; never re-run a completed one."""
    r = statemod.load_root(root)
    if not r.tasks:
        raise SweepError("%s: no tasks.jsonl: this root was not written by sweep and cannot be resumed" % root)
    _check_no_live_launcher(r)
    todo = [(ts.tid, ts.attempts) for ts in _rerunnable(r)]
    return run_todo(r, todo, launcher, settings)


def _rerunnable(r: statemod.Root) -> list[statemod.TaskState]:
    """Tasks that are not done and not queued or running anywhere."""
    if r.sweep.get("launcher") == "slurm":
        from .slurm import active_tids

        # Slurm's queue first, the records after: a task that ends in between is then either still
        # in the queue snapshot or already recorded done, never resubmitted.
        busy = active_tids(r)
        return [ts for ts in statemod.task_states(r) if ts.tid not in busy and ts.state != "done"]
    states = statemod.task_states(r)
    _adopt_or_stop(r, states)
    return [ts for ts in states if ts.state != "done"]


def run_todo(r: statemod.Root, todo: list[tuple[int, int]], launcher: str | None, settings: dict) -> Outcome:
    kind = launcher or r.sweep.get("launcher", "local")
    merged = dict(r.sweep.get("settings", {}))
    merged.update({k: v for k, v in settings.items() if v is not None})
    if not todo:
        return Outcome(r.path)
    if kind == "slurm":
        from .slurm import submit

        return submit(r, todo, merged)
    from .local import dispatch

    write_launcher_pid(r.path)
    outcome = dispatch(r.path, r.batch_name, todo, r.tasks,
                       **{k: merged[k] for k in ("max_concurrency", "retries", "fail_fast", "timeout", "quiet")
                          if merged.get(k) is not None})
    finalize(r.path)
    return outcome


def extend(root: str, sweep: Any, launcher: str | None = None, **settings: Any) -> Outcome:
    """`sweep run SPEC --into ROOT`: add the spec's points to a root; run those not completed there."""
    r = statemod.load_root(root)
    if not r.tasks:
        raise SweepError("%s: no tasks.jsonl: this root was not written by sweep" % root)
    theirs, ours = r.sweep.get("command", {}), sweep.command.describe()
    if theirs != ours:
        raise SweepError("--into %s: that sweep runs %s, this spec runs %s; refusing to mix them"
                         % (root, _what(theirs), _what(ours)))
    _check_no_live_launcher(r)
    rerun = {ts.tid: ts for ts in _rerunnable(r)}
    by_point = {json.dumps(spec, sort_keys=True): tid for tid, spec in r.specs.items()}
    from ..args import Log

    combined = list(r.specs.values())
    new_specs = []
    for spec in sweep.space.iter_specs():
        if json.dumps(spec, sort_keys=True) not in by_point:
            by_point[json.dumps(spec, sort_keys=True)] = None
            new_specs.append(spec)
    combined += new_specs
    todo = []
    for spec in sweep.space.iter_specs():
        tid = by_point[json.dumps(spec, sort_keys=True)]
        if tid is not None and tid in rerun:
            todo.append((tid, rerun[tid].attempts))
    if new_specs:
        from ..args import Args

        info = dict(r.info)
        all_space = Args(combined)
        info.update(root_directory=r.path, varying_keys=all_space.varying_keys,
                    constant_keys=all_space.constant_keys, constant_items=all_space.constant_items)
        start = max(r.specs) + 1
        new_points = list(enumerate(new_specs, start))
        layout.append_tasks(r.path, task_entries(sweep.command, new_points, info, r.path))
        todo += [(tid, 0) for tid, _ in new_points]
        Log.write_log(layout.log_path(r.path, r.batch_name), new_specs)
        full = layout.read_json(layout.info_path(r.path, r.batch_name))
        full.update(varying_keys=info["varying_keys"], constant_keys=info["constant_keys"],
                    constant_items=info["constant_items"], end_time=None)
        layout.write_json_atomic(layout.info_path(r.path, r.batch_name), full)
        r = statemod.load_root(root)
    return run_todo(r, todo, launcher, settings)


def _what(desc: dict) -> str:
    if desc.get("kind") == "RunBatchCommand":
        return "script %s" % desc.get("script")
    return "command %s" % " ".join([desc.get("executable") or "?"] + desc.get("args", []))
