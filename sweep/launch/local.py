"""The local launcher: at most `max_concurrency` tasks at once, waiting on process exits as events."""

from __future__ import annotations

import collections
import os
import queue
import signal
import threading
import time
from typing import Any

from .. import worker
from .base import BaseLauncher, Outcome
from .progress import Progress

TERM_GRACE = 2.0  # seconds between SIGTERM and SIGKILL for a timed-out task
INTERRUPT_GRACE = 4.0  # seconds the children get to exit after an interrupt before SIGKILL
_WAKE = -1


class _Waiters:
    """Threads that wait for task exits and write their records, the fsyncs off the main thread.

    A task's exit is posted as soon as its state is known, before its record is written, so the next task
    starts without waiting for the disk; `close` waits for every record in flight. A thread is reused
    once its task is recorded: a sweep starts only as many threads as ever ran at once.
    """

    def __init__(self, events: queue.SimpleQueue) -> None:
        self.events = events
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.lock = threading.Condition()
        self.idle = 0
        self.threads = 0
        self.writing = 0

    def submit(self, task: worker.Task) -> None:
        with self.lock:
            spawn = self.idle == 0
            self.threads += spawn
            self.idle -= not spawn
        self.jobs.put(task)
        if spawn:
            threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while (task := self.jobs.get()) is not None:
            worker.conclude(task, task.proc.wait())
            with self.lock:
                self.writing += 1
            self.events.put(task.tid)
            try:
                worker.write_final_record(task)
            finally:
                with self.lock:
                    self.writing -= 1
                    self.idle += 1
                    self.lock.notify_all()

    def close(self) -> None:
        """Wait until every concluded record is on disk, then let the threads go."""
        with self.lock:
            self.lock.wait_for(lambda: self.writing == 0)
        for _ in range(self.threads):  # (a thread still waiting on an unkillable task is a daemon)
            self.jobs.put(None)


def dispatch(root: str, batch_name: str, todo: list[tuple[int, int]], tasks: dict[int, dict], *,
             max_concurrency: int = 2, retries: int = 0, fail_fast: bool = False,
             timeout: float | None = None, quiet: bool = False) -> Outcome:
    """Run (tid, attempt) pairs; every exit, timeout and signal ends in a record."""
    started_at = time.monotonic()
    pending = collections.deque(todo)
    running: dict[int, worker.Task] = {}
    deadlines: dict[int, float] = {}
    events: queue.SimpleQueue = queue.SimpleQueue()
    outcome = Outcome(root)
    progress = Progress(len({tid for tid, _ in todo}), quiet=quiet)
    caught: list[int] = []
    stopping = False
    base_env = dict(os.environ)
    waiters = _Waiters(events)

    def on_signal(signum: int, frame: Any) -> None:
        caught.append(signum)
        events.put(_WAKE)  # SimpleQueue.put is safe in a signal handler

    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, on_signal)

    def settle(task: worker.Task) -> None:
        nonlocal stopping
        rec = task.record
        deadlines.pop(task.tid, None)
        if rec["state"] == "done":
            outcome.done += 1
        elif task.interrupted:
            pass
        elif task.attempt < retries and not stopping and not caught:
            pending.appendleft((task.tid, task.attempt + 1))
        else:
            outcome.failed += 1
            if fail_fast:
                stopping = True

    try:
        while True:
            while pending and not stopping and not caught and len(running) < max_concurrency:
                tid, attempt = pending.popleft()
                entry = tasks[tid]
                task = worker.start(worker.Task(root, batch_name, tid, attempt, entry["argv"], entry.get("run_dir")),
                                    base_env=base_env)
                if task.proc is None:
                    task.record = worker.finish(task, None)
                    settle(task)
                    continue
                running[tid] = task
                waiters.submit(task)
                if timeout:
                    deadlines[tid] = time.monotonic() + timeout
            progress.update(outcome.done, outcome.failed, len(running))
            if caught or not running:
                break
            wait = min([d - time.monotonic() for d in deadlines.values()] +
                       ([] if quiet else [progress.next_refresh]), default=None)
            try:
                tid = events.get(timeout=None if wait is None else max(0.0, wait) + 0.001)
            except queue.Empty:
                tid = None
            if tid is not None and tid != _WAKE:
                settle(running.pop(tid))
            now = time.monotonic()
            for tid, deadline in list(deadlines.items()):
                if now >= deadline:
                    task = running[tid]
                    sig = signal.SIGKILL if task.timed_out else signal.SIGTERM
                    task.timed_out = True  # before the signal: the waiting thread reads it once the task exits
                    worker.kill_group(task.proc, sig)
                    deadlines[tid] = now + TERM_GRACE
        if caught:
            _terminate_all(running, events, settle)
            outcome.interrupted = signal.Signals(caught[0]).name
        progress.update(outcome.done, outcome.failed, 0, force=True)
        progress.close()
    finally:
        waiters.close()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    outcome.not_started = len({tid for tid, _ in pending})
    outcome.duration = time.monotonic() - started_at
    return outcome


def _terminate_all(running: dict[int, worker.Task], events: queue.SimpleQueue, settle: Any) -> None:
    """SIGTERM every child's process group, SIGKILL what is left after the grace period, record them."""
    for task in running.values():
        task.interrupted = True
        worker.kill_group(task.proc, signal.SIGTERM)
    deadline = time.monotonic() + INTERRUPT_GRACE
    killed = False
    while running:
        remaining = deadline - time.monotonic()
        if remaining <= 0 and not killed:
            for task in running.values():
                worker.kill_group(task.proc, signal.SIGKILL)
            killed, deadline = True, time.monotonic() + 1.0
            continue
        try:
            tid = events.get(timeout=max(remaining, 0.01))
        except queue.Empty:
            if killed:
                break
            continue
        if tid in running:
            settle(running.pop(tid))
    for task in list(running.values()):  # unkillable: record it anyway
        task.record = worker.finish(task, task.proc.poll())
        settle(task)


class Launcher(BaseLauncher):
    """Lancet's local Launcher: `Launcher(batch_name, args, command, **params)()` runs the sweep here."""

    kind = "local"

    def _run(self, root: str, todo: list[tuple[int, int]]) -> Outcome:
        from .state import load_root

        tasks = load_root(root).tasks
        return dispatch(root, self.batch_name, todo, tasks, max_concurrency=self.max_concurrency or 2,
                        retries=self.retries, fail_fast=self.fail_fast, timeout=self.timeout, quiet=self.quiet)
