"""What every launcher shares: the root, its records, the end-of-sweep report."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import param

from .. import __version__, layout
from ..args import BaseArgs, Log
from ..commands import Command
from ..errors import SweepError
from ..reprs import constructor_repr
from . import state as statemod


@dataclass
class Outcome:
    """How a launch (or resume) ended."""

    root: str
    done: int = 0
    failed: int = 0
    not_started: int = 0
    interrupted: str | None = None  # the signal's name
    duration: float = 0.0
    submitted: bool = False  # slurm: queued and not waited for

    @property
    def exit_status(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.failed or self.not_started else 0


MAX_INFO_REPR = 100_000  # characters of the launcher's repr kept in the .info


def git_metadata(paths: list[str]) -> dict:
    from ..batch import git_state

    for p in paths:
        state = git_state(p)
        if state is not None:
            try:
                diff = subprocess.run(["git", "-C", state["repository"], "diff", "HEAD"], capture_output=True,
                                      text=True, timeout=20).stdout
            except (OSError, subprocess.TimeoutExpired):
                diff = ""
            state["diff_lines"] = diff.count("\n")
            return state
    return {}


def versions() -> dict:
    out = {"python": platform.python_version(), "sweep": __version__, "param": param.__version__}
    from importlib import metadata

    for name in ("numpy", "pandas"):  # read from metadata: importing pandas here would cost 0.3 s per launch
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


class BaseLauncher(param.Parameterized):
    """Lancet's Launcher parameters; subclasses decide where tasks run (`_run`)."""

    batch_name = param.String(default=None, allow_None=True, constant=True, doc="Name of the sweep; names the root and its log/info files.")
    args = param.ClassSelector(default=None, class_=BaseArgs, allow_None=True, constant=True, doc="The parameter space.")
    command = param.ClassSelector(default=None, class_=Command, allow_None=True, constant=True, doc="Turns each point into an argv list.")
    output_directory = param.String(default=".", doc="Directory the sweep root is created in.")
    tag = param.String(default="", doc="A tag recorded in the .info file.")
    description = param.String(default="", doc="A description recorded in the .info file.")
    subdir = param.List(default=[], doc="Subdirectories of output_directory the root is placed in.")
    metadata = param.Dict(default={}, doc="Extra metadata recorded in the .info file.")
    max_concurrency = param.Integer(default=2, bounds=(1, None), allow_None=True, doc="Most tasks running at once.")
    reduction_fn = param.Callable(default=None, allow_None=True, doc="Called as reduction_fn(specs, root) when the sweep ends.")
    timestamp = param.NumericTuple(default=(0,) * 9, length=9, doc="Time the root is named by; zeros mean now.")
    timestamp_format = param.String(default=layout.DEFAULT_TIMESTAMP_FORMAT, allow_None=True, doc="strftime format of the root's timestamp.")
    retries = param.Integer(default=0, bounds=(0, None), doc="Re-run a failed task up to this many times.")
    fail_fast = param.Boolean(default=False, doc="Stop launching new tasks at the first failure.")
    timeout = param.Number(default=None, allow_None=True, bounds=(0, None), doc="Kill a task running longer than this many seconds.")
    quiet = param.Boolean(default=False, doc="No progress output.")
    spec_path = param.String(default=None, allow_None=True, doc="Spec file copied into the root.")

    kind = "local"

    def __init__(self, batch_name: str, args: BaseArgs, command: Command, **params: Any):
        valid = sorted(k for k in self.param if k not in ("name", "batch_name", "args", "command"))
        unknown = [k for k in params if k not in valid]
        if unknown:
            raise SweepError("%s: unknown option%s %s; valid options: %s"
                             % (type(self).__name__, "s" if len(unknown) > 1 else "",
                                ", ".join(map(repr, unknown)), ", ".join(valid)))
        super().__init__(batch_name=batch_name, args=args, command=command, **params)
        if self.timestamp == (0,) * 9:
            self.timestamp = tuple(time.localtime())
        self.root_directory: str | None = None

    # --- checks before anything is written ------------------------------------------
    def _check(self) -> None:
        name = self.batch_name or ""
        if not name or os.sep in name or (os.altsep and os.altsep in name) or name in (".", ".."):
            raise SweepError("batch name %r must be a plain name without a path separator" % name)
        if len(self.args) == 0:
            raise SweepError("the parameter space is empty (it gives no points)")
        self.command.verify(self.args)

    def get_root_directory(self, n: int = 1) -> str:
        """The root this launcher creates (Lancet's name); the n-th candidate when earlier ones are taken."""
        stamp = time.strftime(self.timestamp_format, tuple(self.timestamp))
        return os.path.join(self.output_directory, *self.subdir, layout.root_dir_name(stamp, self.batch_name, n))

    def _create_root(self) -> str:
        parent = layout.make_output_directory(os.path.dirname(self.get_root_directory()))
        for n in range(1, 10000):  # two sweeps in the same minute get distinct roots
            root = os.path.join(parent, os.path.basename(self.get_root_directory(n)))
            try:
                os.mkdir(root)
                return root
            except FileExistsError:
                continue
            except OSError as exc:
                raise SweepError("cannot create sweep root in %s: %s" % (parent, exc.strerror)) from None
        raise SweepError("cannot find a free root name in %s" % parent)

    def launch_info(self, root: str, varying: list | None = None) -> dict:
        """Lancet's info dict, as passed to commands and written to <batch>.info."""
        return {
            "root_directory": root, "batch_name": self.batch_name, "batch_tag": self.tag,
            "batch_description": self.description, "timestamp": tuple(self.timestamp),
            "timestamp_format": self.timestamp_format,
            "varying_keys": self.args.varying_keys if varying is None else varying,
            "constant_keys": self.args.constant_keys, "constant_items": self.args.constant_items,
        }

    def _write_root(self, root: str) -> dict:
        info = self.launch_info(root)
        os.makedirs(layout.streams_dir(root))
        os.makedirs(layout.records_dir(root))
        script = getattr(self.command, "script", None)
        for path in (self.spec_path, script):  # the spec and the model script, kept with the results
            if path and os.path.isfile(path):
                os.makedirs(layout.spec_dir(root), exist_ok=True)
                shutil.copy2(path, layout.spec_dir(root))
        with open(layout.log_path(root, self.batch_name), "w") as log:
            def logged() -> Iterator[tuple[int, dict]]:
                for tid, spec in enumerate(self.args.iter_specs()):
                    log.write("%d %s\n" % (tid, json.dumps(spec)))
                    yield tid, spec

            layout.append_tasks(root, task_entries(self.command, logged(), info, root))
        layout.write_json_atomic(layout.sweep_file(root), {
            "batch_name": self.batch_name, "launcher": self.kind, "settings": self.settings(),
            "command": self.command.describe(),
            "spec": os.path.basename(self.spec_path) if self.spec_path else None,
        })
        full = dict(info)
        launcher = repr(self)
        if len(launcher) > MAX_INFO_REPR:  # a long explicit list of points: the .log holds them all anyway
            launcher = launcher[:MAX_INFO_REPR] + "... (cut; every point is in the .log)"
        full.update({
            "launcher": launcher, "platform": platform.platform(), "host": platform.node(),
            "commandline": sys.argv, "start_time": time.time(), "end_time": None,
            "versions": versions(), "metadata": dict(self.metadata, git=git_metadata(
                [p for p in (self.spec_path, script) if p])),
        })
        layout.write_json_atomic(layout.info_path(root, self.batch_name), full)
        return info

    def settings(self) -> dict:
        return {"max_concurrency": self.max_concurrency, "retries": self.retries, "fail_fast": self.fail_fast,
                "timeout": self.timeout}

    # --- the launch ---------------------------------------------------------------
    def __call__(self) -> Outcome:
        self._check()
        root = self._create_root()
        try:
            self._write_root(root)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        self.root_directory = root
        if self.kind == "local":
            write_launcher_pid(root)
        todo = [(tid, 0) for tid in range(len(self.args))]
        outcome = self._run(root, todo)
        if not outcome.submitted:
            finalize(root, self.command, self.reduction_fn)
        return outcome

    def _run(self, root: str, todo: list[tuple[int, int]]) -> Outcome:
        raise NotImplementedError

    def summary(self) -> None:
        print("Type: %s" % type(self).__name__)
        print("Batch Name: %r" % self.batch_name)
        if self.tag:
            print("Tag: %s" % self.tag)
        print("Root directory: %r" % self.get_root_directory())
        print("Maximum concurrency: %s" % self.max_concurrency)
        if self.description:
            print("Description: %s" % self.description)

    _REPR_ALWAYS = ("batch_name", "args", "command", "description", "tag", "output_directory", "subdir", "metadata")
    _REPR_NEVER = ("name", "timestamp", "quiet", "spec_path")

    def __repr__(self) -> str:
        """The constructor call, as Lancet records it in the .info: its arguments, then whatever was changed."""
        return constructor_repr(self, self._REPR_ALWAYS, self._REPR_NEVER)


def task_entries(command: Command, points: Iterable[tuple[int, dict]], info: dict, root: str) -> Iterator[dict]:
    """What tasks.jsonl holds per task: its argv (the root's path as a token) and its run directory."""
    for tid, spec in points:
        yield {"tid": tid, "argv": layout.portable_argv(command(spec, tid, info), root),
               "run_dir": command.run_dir(spec, tid, info)}


def write_launcher_pid(root: str) -> None:
    """Lets `resume` refuse to run beside a launcher that is still alive."""
    layout.write_json_atomic(layout.launcher_file(root), {
        "pid": os.getpid(), "host": platform.node(), "start": statemod.process_start(os.getpid())}, fsync=False)


def finalize(root: str, command: Command | None = None, reduction_fn: Callable | None = None) -> None:
    """Record the end time in the .info file and run the end-of-sweep hooks."""
    batch = layout.find_batch_name(root)
    path = layout.info_path(root, batch)
    info = layout.read_json(path)
    info["end_time"] = time.time()
    layout.write_json_atomic(path, info)
    if command is not None:
        command.finalize(info)
    if reduction_fn is not None:
        reduction_fn(Log(layout.log_path(root, batch)).specs, root)


def report(outcome: Outcome, stream: Any = None, collate: bool = True) -> None:
    """The end-of-sweep summary: counts, duration, each failure with its evidence, the collated table."""
    stream = stream or sys.stdout
    root = statemod.load_root(outcome.root)
    states = statemod.task_states(root)
    c = statemod.counts(states)
    rel = os.path.relpath(root.path)
    line = "sweep %s: %s" % (root.batch_name, ", ".join("%d %s" % (n, s) for s, n in c.items()))
    if outcome.duration:
        line += " in %.1f s" % outcome.duration
    print(line + "  (root: %s)" % rel, file=stream)
    bad = [ts for ts in states if ts.state not in ("done", "pending", "running")]
    if bad:
        print("Failed tasks:", file=stream)
        for ts in bad:
            print("\n".join(statemod.describe_failure(root, ts)), file=stream)
    if outcome.interrupted:
        print("Interrupted by %s: %d task(s) not completed. Resume with: sweep resume %s"
              % (outcome.interrupted, sum(1 for ts in states if ts.state != "done"), rel), file=stream)
    elif outcome.not_started:
        print("%d task(s) not started (--fail-fast). Resume with: sweep resume %s" % (outcome.not_started, rel),
              file=stream)
    if collate and c.get("done"):
        from ..collation import write_root_table

        write_root_table(root.path, stream)
