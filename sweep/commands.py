"""Commands turn one point of a space into an argv list (Lancet's Command family)."""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import time
from typing import Any

import param

from . import layout
from .args import BaseArgs
from .errors import SweepError
from .reprs import constructor_repr


class Command(param.Parameterized):
    """Base class: `command(spec, tid, info)` returns the argv list of one task."""

    executable = param.String(default="python", constant=True, doc="The program every task runs.")
    do_format = param.Boolean(default=True, doc="Whether spec values are formatted to strings before the call.")

    def __init__(self, executable: str | None = None, **params: Any):
        if executable is not None:
            params["executable"] = executable
        super().__init__(**params)

    def __call__(self, spec: dict, tid: int | None = None, info: dict | None = None) -> list[str]:
        raise NotImplementedError

    _repr_always: tuple[str, ...] = ("executable",)  # shown even at their defaults (as Lancet does)
    _repr_never: tuple[str, ...] = ("name",)

    def __repr__(self) -> str:
        """The constructor call that rebuilds the command: Lancet's arguments, then whatever was changed."""
        return constructor_repr(self, self._repr_always, self._repr_never)

    def run_dir(self, spec: dict, tid: int, info: dict) -> str | None:
        """The run directory name the task will create inside the root, when known in advance."""
        return None

    def _formatter(self, spec: dict) -> dict:
        return {k: str(v) for k, v in spec.items()} if self.do_format else spec

    @staticmethod
    def placeholder_info(args: BaseArgs) -> dict:
        return {"root_directory": "<root_directory>", "batch_name": "<batch_name>", "batch_tag": "<batch_tag>",
                "batch_description": "<batch_description>", "launcher": "<launcher>",
                "timestamp_format": "<timestamp_format>", "timestamp": tuple(time.localtime()),
                "varying_keys": args.varying_keys, "constant_keys": args.constant_keys,
                "constant_items": args.constant_items}

    def show(self, args: BaseArgs, file_handle: Any = None, info: dict | None = None, **kwargs: Any) -> None:
        """Print every command line the space gives, numbered by tid."""
        info = info or self.placeholder_info(args)
        out = file_handle or sys.stdout
        for tid, spec in enumerate(args.iter_specs()):
            out.write("%d: %s\n" % (tid, subprocess.list2cmdline(self(self._formatter(spec), tid, info))))

    def verify(self, args: BaseArgs) -> None:
        """Raise SweepError when the command cannot run (checked before anything starts)."""

    def finalize(self, info: dict) -> None:
        """Called once the whole sweep has ended."""

    def summary(self) -> None:
        print("Command executable: %s" % self.executable)

    def describe(self) -> dict:
        """What identifies this command, for --into checks and the root's sweep.json."""
        return {"kind": type(self).__name__, "executable": self.executable}


def _check_executable(executable: str) -> None:
    if os.sep in executable:
        ok = os.path.isfile(executable) and os.access(executable, os.X_OK)
    else:
        ok = shutil.which(executable) is not None
    if not ok:
        raise SweepError("command: executable not found: %s" % executable)


class ShellCommand(Command):
    """Options as flags: `--key value` (`-k value` for one-letter keys); True is a bare flag, False omits it."""

    executable = param.String(default=None, allow_None=True, constant=True, doc="The program every task runs.")
    args = param.List(default=[], doc="Fixed arguments placed right after the executable.")
    posargs = param.List(default=[], doc="Keys whose values are passed as positional arguments, in order, "
                                         "after the options (as Lancet places them).")
    short_prefix = param.String(default="-", doc="Prefix of one-letter option names.")
    long_prefix = param.String(default="--", doc="Prefix of longer option names.")
    expansions = param.Dict(default={}, doc="Extra options computed per task: callables (spec, info, tid) or values.")

    _repr_always = ("executable", "posargs", "long_prefix")
    _repr_never = ("name", "do_format")

    def __init__(self, executable: str, posargs: list | None = None, short_prefix: str = "-",
                 long_prefix: str = "--", **params: Any):
        super().__init__(executable=executable, do_format=False, posargs=list(posargs or []),
                         short_prefix=short_prefix, long_prefix=long_prefix, **params)

    def __call__(self, spec: dict, tid: int | None = None, info: dict | None = None) -> list[str]:
        info = info or {}
        expanded: dict = {}
        for k, v in self.expansions.items():
            expanded[k] = v(spec, info, tid) if callable(v) else v
        expanded.update(spec)
        options: list[str] = []
        for k, v in expanded.items():
            if k in self.posargs or v is False:
                continue
            options.append("%s%s" % (self.long_prefix if len(k) > 1 else self.short_prefix, k))
            if v is not True:
                options.append(v)
        posargs = [expanded[p] if p in expanded else p(spec, info, tid) for p in self.posargs]
        return [self.executable] + [str(a) for a in self.args] + [str(el) for el in options + posargs]

    def verify(self, args: BaseArgs) -> None:
        _check_executable(self.executable)
        for p in self.posargs:
            if not callable(p) and p not in args and p not in self.expansions:
                raise SweepError("command: positional argument %r is not a key of the space" % p)

    def summary(self) -> None:
        print("Command executable: %s" % self.executable)
        print("Long prefix: %r" % self.long_prefix)

    def describe(self) -> dict:
        return {"kind": "ShellCommand", "executable": self.executable, "args": [str(a) for a in self.args]}

    class RootDirectory:
        """Expansion: the sweep's root directory."""

        def __call__(self, spec: dict, info: dict, tid: int) -> str:
            return info["root_directory"]

        def __repr__(self) -> str:
            return "ShellCommand.RootDirectory()"

    class LongFilename:
        """Expansion: a file in the root named by the tid and the varying keys."""

        def __init__(self, extension: str, excluding: list | None = None):
            self.extension, self.excluding = extension, list(excluding or [])

        def __call__(self, spec: dict, info: dict, tid: int) -> str:
            params = [("tid", tid)] + [(k, v) for k, v in spec.items()
                                       if k in info["varying_keys"] and k not in self.excluding]
            basename = "_".join("%s=%s" % (k, v) for k, v in sorted(params))
            return os.path.join(info["root_directory"], "%s_%s%s" % (info["batch_name"], basename, self.extension))

        def __repr__(self) -> str:
            items = [self.extension, self.excluding] if self.excluding else [self.extension]
            return "ShellCommand.LongFilename(%s)" % ", ".join(map(repr, items))

    class Expand:
        """Expansion: a format template over the spec, the launch info and the tid."""

        def __init__(self, template: str):
            self.template = template

        def __call__(self, spec: dict, info: dict, tid: int) -> str:
            values = {"tid": tid}
            values.update(spec)
            values.update(info)
            return self.template.format(**values)

        def __repr__(self) -> str:
            return "ShellCommand.Expand(%r)" % self.template


class RunBatchCommand(Command):
    """One `sweep run-batch` invocation per point; the run directory is named by the varying keys and the tid."""

    script = param.String(default=None, allow_None=True, constant=True, doc="The model script (a path).")
    times = param.Parameter(default=None, doc="Analysis times: a list, or a number scaling the default list.")
    analysis = param.String(default=None, allow_None=True, doc="Analysis function: MODULE:FUNC or FILE.py:FUNC.")
    allow_unused = param.Boolean(default=False, doc="Allow parameters the script does not declare.")
    abbreviations = param.Dict(default={}, doc="Key order and short names for run directory names.")
    max_name_length = param.Integer(default=200, bounds=(20, None), doc="Longest run directory name.")

    _repr_always = ("script",)
    _repr_never = ("name", "executable")

    def __init__(self, script: str, **params: Any):
        super().__init__(executable=sys.executable, script=os.path.abspath(script), **params)

    def __call__(self, spec: dict, tid: int | None = None, info: dict | None = None) -> list[str]:
        info = info or {}
        argv = [self.executable, "-m", "sweep", "run-batch", self.script,
                "--output-directory", str(info.get("root_directory", ".")),
                "--tag", "tid%s" % tid, "--name-keys", ",".join(info.get("varying_keys", [])),
                "--name-time", self._name_time(info), "--max-name-length", str(self.max_name_length)]
        if self.times is not None:
            times = self.times
            argv += ["--times", ",".join(map(repr, times)) if isinstance(times, (list, tuple)) else repr(times)]
        if self.analysis:
            argv += ["--analysis", self.analysis]
        if self.allow_unused:
            argv.append("--allow-unused")
        for key, short in self.abbreviations.items():
            argv += ["--abbreviate", "%s=%s" % (key, short)]
        for k, v in spec.items():
            argv += ["-p", "%s=%r" % (k, v)]
        return argv

    @staticmethod
    def _name_time(info: dict) -> str:
        ts = info.get("timestamp")
        return time.strftime(layout.DEFAULT_NAME_TIME_FORMAT, tuple(ts) if ts else time.localtime())

    def run_dir(self, spec: dict, tid: int, info: dict) -> str | None:
        return layout.run_dir_name(self.script, spec, time_str=self._name_time(info), tag="tid%s" % tid,
                                   name_keys=info.get("varying_keys", []), abbreviations=self.abbreviations,
                                   max_length=self.max_name_length)

    def verify(self, args: BaseArgs) -> None:
        if not os.path.isfile(self.script):
            raise SweepError("command: model script not found: %s" % self.script)
        if self.analysis and ":" in self.analysis:
            target = self.analysis.rpartition(":")[0]
            if target.endswith(".py") and not os.path.isfile(target):
                raise SweepError("command: analysis file not found: %s" % target)
        self._warn_undeclared(args)

    def _warn_undeclared(self, args: BaseArgs) -> None:
        """Before anything runs: keys the script visibly does not declare would fail every task."""
        from .batch import declared_in_source

        declared = None if self.allow_unused else declared_in_source(self.script)
        if not declared or getattr(self, "_warned", False):
            return
        for key in [k for k in args.constant_keys + args.varying_keys if k not in declared]:
            close = difflib.get_close_matches(key, declared, n=1)
            print("sweep: warning: %s does not declare parameter %r%s: its tasks will fail unless the script "
                  "declares it elsewhere (declared: %s)" % (os.path.basename(self.script), key,
                                                            " (did you mean %r?)" % close[0] if close else "",
                                                            ", ".join(declared)), file=sys.stderr)
            self._warned = True

    def summary(self) -> None:
        print("Command executable: %s -m sweep run-batch %s" % (self.executable, self.script))
        if self.times is not None:
            print("Analysis times: %s" % (self.times,))

    def describe(self) -> dict:
        return {"kind": "RunBatchCommand", "script": os.path.basename(self.script)}
