"""Spec files: a TOML (data only) or Python file describing a whole sweep.

The TOML `space.expr` is the Args algebra parsed through an AST whitelist and
evaluated by walking the tree: nothing in a spec file is ever executed.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import runpy
import tomllib
from dataclasses import dataclass, field
from typing import Any

from . import args as argsmod
from .args import BaseArgs
from .commands import Command, RunBatchCommand, ShellCommand
from .errors import SpecError

SPECIFIERS = {name: getattr(argsmod, name) for name in
              ("Args", "Range", "List", "Log", "FilePattern", "Zip", "Identity")}

TOP_KEYS = ("name", "description", "tag", "space", "run", "launcher")
SPACE_KEYS = ("expr", "constants")
RUN_KEYS = ("script", "times", "analysis", "allow_unused", "abbreviations", "max_name_length",
            "command", "posargs", "short_prefix", "long_prefix")
SLURM_KEYS = ("partition", "time", "mem", "cpus_per_task", "account", "qos", "max_running", "tasks_per_job",
              "sbatch_args", "setup")
LAUNCHER_KEYS = ("kind", "max_concurrency", "output_directory", "retries", "timeout", "fail_fast",
                 "timestamp_format", "slurm")


@dataclass
class Sweep:
    """A parsed spec: the space, what each point runs, and the launcher settings."""

    name: str
    space: BaseArgs
    command: Command | None = None
    description: str = ""
    tag: str = ""
    launcher: dict = field(default_factory=dict)
    path: str | None = None

    @property
    def spec_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()


def _check_keys(table: dict, valid: tuple, where: str, path: str) -> None:
    for key in table:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = ("did you mean %r? " % close[0]) if close else ""
            raise SpecError("%s: unknown key %r; %svalid keys: %s"
                            % (path, where + key, hint, ", ".join(valid)))


class _ExprEvaluator:
    """Evaluate the whitelisted subset of Python that spells the Args algebra."""

    def __init__(self, text: str, where: str):
        self.text, self.where = text, where

    def fail(self, node: ast.AST, what: str) -> SpecError:
        segment = ast.get_source_segment(self.text, node) or type(node).__name__
        return SpecError("%s: column %d: %s %r is not allowed; use %s, literals, +, * and unary minus"
                         % (self.where, node.col_offset + 1, what, segment, ", ".join(SPECIFIERS)))

    def parse(self) -> Any:
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except SyntaxError as exc:
            raise SpecError("%s: column %s: invalid expression: %s" % (self.where, exc.offset, exc.msg)) from None
        self.text = self.text.strip()
        return self.eval(tree.body)

    def eval(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.eval(node.operand)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(node, "sign on a non-number")
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.eval(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise self.fail(node, "dict unpacking")
            return {self.eval(k): self.eval(v) for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            left, right = self.eval(node.left), self.eval(node.right)
            if not (isinstance(left, BaseArgs) and isinstance(right, BaseArgs)):
                raise self.fail(node, "arithmetic on values")
            try:
                return left + right if isinstance(node.op, ast.Add) else left * right
            except SpecError as exc:
                raise SpecError("%s: column %d: %s" % (self.where, node.col_offset + 1, exc)) from None
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in SPECIFIERS:
                raise self.fail(node.func, "call of")
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                raise self.fail(node, "argument unpacking")
            posargs = [self.eval(a) for a in node.args]
            kwargs = {k.arg: self.eval(k.value) for k in node.keywords}
            if kwargs.get("mapfn") is not None:
                raise self.fail(node, "mapfn")
            try:
                return SPECIFIERS[node.func.id](*posargs, **kwargs)
            except SpecError as exc:
                raise SpecError("%s: column %d: %s" % (self.where, node.col_offset + 1, exc)) from None
            except (TypeError, ValueError) as exc:
                raise SpecError("%s: column %d: %s: %s" % (self.where, node.col_offset + 1, node.func.id, exc)) from None
        if isinstance(node, ast.Name):
            raise self.fail(node, "name")
        if isinstance(node, ast.Attribute):
            raise self.fail(node, "attribute access")
        if isinstance(node, ast.Lambda):
            raise self.fail(node, "lambda")
        raise self.fail(node, "construct")


def parse_expr(text: str, where: str = "space.expr") -> BaseArgs:
    """Parse an Args-algebra expression without eval: Range('a', 0, 1, steps=3) * List('b', [1, 2])."""
    value = _ExprEvaluator(text, where).parse()
    if not isinstance(value, BaseArgs):
        raise SpecError("%s: expected a parameter space (Args, Range, List, ...), got %r" % (where, value))
    return value


def load_spec(path: str, overrides: dict | None = None) -> Sweep:
    """Read a .toml or .py spec file into a Sweep; `overrides` become constants (the -p of `sweep run`)."""
    if not os.path.isfile(path):
        raise SpecError("%s: no such spec file" % path)
    if path.endswith(".py"):
        sweep = _load_python(path)
    else:
        sweep = _load_toml(path)
    if overrides:
        sweep.space = _override(sweep.space, overrides, path)
    if len(sweep.space) == 0:
        raise SpecError("%s: space: the space is empty (it gives no points)" % path)
    return sweep


def _override(space: BaseArgs, overrides: dict, path: str) -> BaseArgs:
    """-p KEY=VALUE fixes a key: varying keys are replaced by the constant, new keys are added."""
    from .args import Args

    if not any(k in space for k in overrides):
        return space * Args(**overrides)
    specs = [dict(s, **overrides) for s in space.iter_specs()]
    unique, seen = [], set()
    for s in specs:
        key = repr(sorted(s.items()))
        if key not in seen:
            seen.add(key)
            unique.append(s)
    return Args(unique, fp_precision=space.fp_precision)


def _load_toml(path: str) -> Sweep:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        if m:
            msg = msg[: m.start()].strip()
            raise SpecError("%s: line %s, column %s: invalid TOML: %s" % (path, m.group(1), m.group(2), msg)) from None
        raise SpecError("%s: invalid TOML: %s" % (path, msg)) from None
    except UnicodeDecodeError as exc:
        raise SpecError("%s: invalid TOML: not UTF-8 (%s)" % (path, exc.reason)) from None
    _check_keys(data, TOP_KEYS, "", path)
    space_t = _table(data, "space", path)
    run_t = _table(data, "run", path)
    launcher_t = _table(data, "launcher", path)
    _check_keys(space_t, SPACE_KEYS, "space.", path)
    _check_keys(run_t, RUN_KEYS, "run.", path)
    _check_keys(launcher_t, LAUNCHER_KEYS, "launcher.", path)
    _check_keys(_table(launcher_t, "slurm", path), SLURM_KEYS, "launcher.slurm.", path)

    name = data.get("name") or os.path.splitext(os.path.basename(path))[0]
    if not isinstance(name, str):
        raise SpecError("%s: name: expected a string, got %r" % (path, name))
    space: BaseArgs | None = None
    if "expr" in space_t:
        if not isinstance(space_t["expr"], str):
            raise SpecError("%s: space.expr: expected a string, got %r" % (path, space_t["expr"]))
        space = parse_expr(space_t["expr"], "%s: space.expr" % path)
    constants = space_t.get("constants", {})
    if not isinstance(constants, dict):
        raise SpecError("%s: space.constants: expected a table, got %r" % (path, constants))
    if constants:
        try:
            space = argsmod.Args(**constants) if space is None else space * argsmod.Args(**constants)
        except SpecError as exc:
            raise SpecError("%s: space.constants: %s" % (path, exc)) from None
    if space is None:
        raise SpecError("%s: space: the space is empty; give space.expr or space.constants" % path)
    spec_dir = os.path.dirname(os.path.abspath(path))
    command = _command_from_table(run_t, spec_dir, path) if run_t else None
    return Sweep(name=name, space=space, command=command, description=str(data.get("description", "")),
                 tag=str(data.get("tag", "")), launcher=dict(launcher_t), path=os.path.abspath(path))


def _table(data: dict, key: str, path: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SpecError("%s: %s: expected a table, got %r" % (path, key, value))
    return value


def _command_from_table(run: dict, spec_dir: str, path: str) -> Command:
    if ("script" in run) == ("command" in run):
        raise SpecError("%s: run: give exactly one of run.script (a model script) or run.command (an executable)"
                        % path)
    if "script" in run:
        for key in ("posargs", "short_prefix", "long_prefix"):
            if key in run:
                raise SpecError("%s: run.%s: only applies to run.command" % (path, key))
        script = os.path.join(spec_dir, os.path.expanduser(str(run["script"])))
        analysis = run.get("analysis")
        if analysis:
            target, colon, func = str(analysis).rpartition(":")
            if target.endswith(".py"):
                analysis = os.path.join(spec_dir, target) + colon + func
        kwargs = {k: run[k] for k in ("times", "allow_unused", "abbreviations", "max_name_length") if k in run}
        try:
            return RunBatchCommand(script, analysis=analysis, **kwargs)
        except ValueError as exc:
            raise SpecError("%s: run: %s" % (path, exc)) from None
    for key in ("times", "analysis", "allow_unused", "abbreviations", "max_name_length"):
        if key in run:
            raise SpecError("%s: run.%s: only applies to run.script" % (path, key))
    cmd = run["command"]
    argv = [cmd] if isinstance(cmd, str) else cmd
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise SpecError("%s: run.command: expected an executable or a list of strings, got %r" % (path, cmd))
    # Files named relative to the spec file are found there, wherever the sweep is launched from.
    argv = [os.path.join(spec_dir, a) if not os.path.isabs(a) and (os.sep in a or i > 0)
            and os.path.exists(os.path.join(spec_dir, a)) else a for i, a in enumerate(argv)]
    kwargs = {k: run[k] for k in ("posargs", "short_prefix", "long_prefix") if k in run}
    return ShellCommand(argv[0], args=argv[1:], **kwargs)


def _load_python(path: str) -> Sweep:
    ns = runpy.run_path(path, run_name="__sweep_spec__")
    space = ns.get("space")
    if not isinstance(space, BaseArgs):
        raise SpecError("%s: a Python spec must define `space` as a parameter space (Args, Range, ...)" % path)
    command = ns.get("command")
    if command is not None and not isinstance(command, Command):
        raise SpecError("%s: `command` must be a Command (ShellCommand, RunBatchCommand, ...)" % path)
    launcher = ns.get("launcher", {})
    if not isinstance(launcher, dict):
        raise SpecError("%s: `launcher` must be a dict of launcher settings" % path)
    _check_keys(launcher, LAUNCHER_KEYS, "launcher.", path)
    name = ns.get("name") or os.path.splitext(os.path.basename(path))[0]
    return Sweep(name=name, space=space, command=command, description=ns.get("description", ""),
                 tag=ns.get("tag", ""), launcher=launcher, path=os.path.abspath(path))
