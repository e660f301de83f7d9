"""The state of a sweep root, derived only from its files (whichever launcher wrote them)."""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Any

from .. import layout
from ..errors import SweepError

COMPLETE = "done"
STATES = ("done", "failed", "timeout", "cancelled", "interrupted", "lost", "running", "pending")


@dataclass
class TaskState:
    tid: int
    spec: dict
    state: str = "pending"
    attempts: int = 0
    record: dict | None = None  # the latest attempt's record
    argv: list | None = None
    run_dir: str | None = None


@dataclass
class Root:
    """A sweep root as read from disk; paths inside are resolved from `path`, never from recorded ones."""

    path: str
    batch_name: str
    info: dict
    sweep: dict
    specs: dict[int, dict]
    tasks: dict[int, dict] = field(default_factory=dict)


def load_root(root: str) -> Root:
    path = os.path.abspath(root)
    if not os.path.isdir(path):
        raise SweepError("%s: no such directory" % root)
    batch_name = layout.find_batch_name(path)
    if batch_name is None or not os.path.isfile(layout.log_path(path, batch_name)):
        raise SweepError("%s: not a sweep root (no <batch>.info and <batch>.log files)" % root)
    try:
        info = layout.read_json(layout.info_path(path, batch_name))
    except (OSError, ValueError) as exc:
        raise SweepError("%s: unreadable .info file: %s" % (root, exc)) from None
    from ..args import Log

    specs = Log.extract_log(layout.log_path(path, batch_name))
    sweep: dict[str, Any] = {}
    if os.path.isfile(layout.sweep_file(path)):
        sweep = layout.read_json(layout.sweep_file(path))
    tasks = {}
    if os.path.isfile(layout.tasks_file(path)):
        with open(layout.tasks_file(path)) as f:
            for line in f:
                if line.strip():
                    entry = json.loads(line)
                    tasks[entry["tid"]] = entry
    return Root(path, batch_name, info, sweep, specs, tasks)


def read_records(root: str) -> dict[int, dict[int, dict]]:
    """{tid: {attempt: record}} from records/, skipping temporary and unreadable files."""
    out: dict[int, dict[int, dict]] = {}
    d = layout.records_dir(root)
    try:
        entries = os.scandir(d)
    except OSError:
        return out
    with entries:
        for e in entries:
            m = layout.RECORD_RE.match(e.name)
            if not m:
                continue
            try:
                with open(e.path) as f:
                    rec = json.load(f)
            except (OSError, ValueError):
                continue
            out.setdefault(int(m.group(1)), {})[int(m.group(2))] = rec
    return out


def _alive(record: dict, root: str) -> bool:
    """Is the process of a 'running' record of this host still running this very task?"""
    pid = record.get("pid")
    if not pid or record.get("host") != platform.node():
        return False
    marker = ("%s=%s::%d::%d" % (layout.TASK_ENV, root, record["tid"], record["attempt"])).encode()
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return marker in f.read().split(b"\0")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return not os.path.isdir("/proc")  # no /proc: trust the pid


def process_start(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot (Linux), to tell a pid from its reuse."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def launcher_alive(info: dict) -> bool:
    """Is the launcher described by a root's launcher.json still running?"""
    pid = info.get("pid")
    if not pid or info.get("host") != platform.node():
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return info.get("start") is None or process_start(pid) == info["start"]


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until a process that is not our child has exited (a pidfd is an event to wait on)."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (AttributeError, OSError):  # no pidfds here: look again until the timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return True
            time.sleep(0.05)
        return False
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def task_states(root: Root, records: dict | None = None) -> list[TaskState]:
    records = read_records(root.path) if records is None else records
    out = []
    for tid, spec in sorted(root.specs.items()):
        entry = root.tasks.get(tid, {})
        ts = TaskState(tid, spec, argv=entry.get("argv"), run_dir=entry.get("run_dir"))
        attempts = records.get(tid, {})
        if attempts:
            ts.attempts = max(attempts) + 1
            done = [r for r in attempts.values() if r.get("state") == COMPLETE]
            ts.record = done[0] if done else attempts[max(attempts)]
            ts.state = ts.record.get("state", "pending")
            if ts.state == "running" and not ts.record.get("slurm_job_id") and not _alive(ts.record, root.path):
                ts.state = "lost"  # its launcher died before the task's end was recorded
        out.append(ts)
    return out


def counts(states: list[TaskState]) -> dict[str, int]:
    c = {s: 0 for s in STATES}
    for ts in states:
        c[ts.state] = c.get(ts.state, 0) + 1
    return {k: v for k, v in c.items() if v}


def format_spec(spec: dict) -> str:
    return ", ".join("%s=%s" % kv for kv in spec.items())


def describe_failure(root: Root, ts: TaskState) -> list[str]:
    """The evidence of a failed task: how it ended, its parameters, its streams, its stderr tail."""
    rec = ts.record or {}
    how = ts.state
    if rec.get("signal"):
        how += " (signal %s)" % rec["signal"]
    elif rec.get("exit_code") is not None:
        how += " (exit code %s)" % rec["exit_code"]
    lines = ["  tid %d: %s  [%s]" % (ts.tid, how, format_spec(ts.spec))]
    for key in ("stdout", "stderr"):
        if rec.get(key):
            lines.append("    %s: %s" % (key, os.path.join(root.path, rec[key])))
    for line in rec.get("stderr_tail", [])[-5:]:
        lines.append("    | %s" % line)
    return lines
