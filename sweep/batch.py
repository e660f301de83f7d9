"""Topographica's batch mode for Python model scripts: `run_batch` and `global_params`.

Runs inside every task, so it imports nothing heavy: numpy only when the
model itself imported it, never pandas.
"""

from __future__ import annotations

import ast
import datetime
import importlib
import importlib.util
import inspect
import io
import logging
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time as _time
import traceback
import warnings
from typing import Any, Callable, Sequence

import param

from . import layout
from .errors import SweepError

DEFAULT_TIMES = [0, 50, 100, 500, 1000, 2000, 3000, 4000, 5000, 10000]
SCRIPT_MODULE_NAME = "__batch__"


class ParameterError(SweepError):
    """A parameter value or name the model script does not accept."""


class ScriptError(Exception):
    """The model script or its analysis raised; the traceback is in the run's .out file."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class _GlobalParamsBase(param.Parameterized):
    """The shared parameter object model scripts declare their parameters on (Topographica's global_params)."""

    def __init__(self, overrides: dict | None = None):
        super().__init__(name="global_params")
        self._overrides = dict(overrides or {})
        self._used: set[str] = set()
        self._declared: list[str] = []

    def add(self, **params: param.Parameter) -> None:
        """Declare parameters; values given to run_batch replace the defaults, validated by param."""
        for name, p in params.items():
            if not isinstance(p, param.Parameter):
                raise ParameterError("global_params.add(%s=...): expected a param.Parameter, got %r" % (name, p))
            self.param.add_parameter(name, p)
            self._declared.append(name)
            if name in self._overrides:
                self._used.add(name)
                self._assign(name, self._overrides[name])

    def _assign(self, name: str, value: Any) -> None:
        p = self.param[name]
        if isinstance(p, param.Integer) and isinstance(value, float) and value.is_integer():
            value = int(value)  # Range yields floats; 8.0 is a fine integer
        try:
            setattr(self, name, value)
        except ValueError as exc:
            msg = str(exc).replace("'%s.%s'" % (type(self).__name__, name), repr(name))
            raise ParameterError("parameter %s=%r: %s" % (name, value, msg)) from None

    def unused(self) -> list[str]:
        return [k for k in self._overrides if k not in self._used]

    def values(self) -> dict[str, Any]:
        """Every declared parameter with its current value: the script_repr of the run."""
        return {k: getattr(self, k) for k in self._declared}


def _new_global_params(overrides: dict | None = None) -> _GlobalParamsBase:
    cls = type("GlobalParams", (_GlobalParamsBase,), {})
    return cls(overrides)


global_params = _new_global_params()


def declared_in_source(script: str) -> list[str] | None:
    """The names a model script declares with `global_params.add(name=...)`, read without running it.

    None when the declarations cannot be read that way (none found, or `add(**names)`).
    """
    try:
        with open(script, "rb") as f:
            tree = ast.parse(f.read(), script)
    except (OSError, SyntaxError, ValueError):
        return None
    aliases, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("sweep", "sweep.batch") and not node.level:
            aliases.update(a.asname or a.name for a in node.names if a.name == "global_params")
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "sweep")

    def is_global_params(e: ast.expr) -> bool:
        return (isinstance(e, ast.Name) and e.id in aliases) or (
            isinstance(e, ast.Attribute) and e.attr == "global_params" and isinstance(e.value, ast.Name)
            and e.value.id in modules)

    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add" \
                and is_global_params(node.func.value):
            if node.args or any(k.arg is None for k in node.keywords):
                return None
            names += [k.arg for k in node.keywords if k.arg]
    return names or None

# --- results ----------------------------------------------------------------------

_pending: dict[str, Any] = {}


def save(**results: Any) -> None:
    """Record results at the current analysis time (scalars to results.jsonl, arrays to .npy)."""
    _pending.update(results)


_current_run_dir: str | None = None


def run_dir() -> str | None:
    """The directory of the run in progress, for models that write files of their own."""
    return _current_run_dir


def _is_array(value: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and isinstance(value, np.ndarray) and value.ndim > 0


def _jsonable(value: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, (np.generic, np.ndarray)):
        return value.item() if getattr(value, "ndim", 0) == 0 else value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _write_results(run_dir: str, time: Any, results: dict, results_file: io.TextIOBase) -> None:
    import json

    line: dict[str, Any] = {"time": time}
    for name, value in results.items():
        if _is_array(value):
            rel = layout.array_relpath(name, time)
            os.makedirs(os.path.join(run_dir, layout.ARRAYS_DIR), exist_ok=True)
            sys.modules["numpy"].save(os.path.join(run_dir, rel), value)
            line[name] = {"__array__": rel}
        else:
            line[name] = _jsonable(value)
    results_file.write(json.dumps(line) + "\n")
    results_file.flush()


# --- the run -------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A command-line value: a Python literal where it is one (3, 0.1, [1,2], True), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_assignments(items: Sequence[str], option: str = "-p") -> dict[str, Any]:
    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise SweepError("%s %s: expected NAME=VALUE" % (option, item))
        out[name.strip()] = parse_value(value)
    return out


def resolve_times(times: Any) -> list:
    """A list of times as given, or a number that scales the default list."""
    if times is None:
        return list(DEFAULT_TIMES)
    if isinstance(times, (int, float)) and not isinstance(times, bool):
        return [t * times for t in DEFAULT_TIMES]
    times = list(times)
    if any(isinstance(t, bool) or not isinstance(t, (int, float)) for t in times):
        raise SweepError("times: expected numbers, got %r" % (times,))
    if times != sorted(times):
        raise SweepError("times: must be in increasing order, got %r" % (times,))
    return times


def _load_analysis(spec: str | Callable | None, script: str) -> tuple[Callable | None, str | None]:
    """(function, None) or (None, name to look up in the script itself)."""
    if spec is None or callable(spec):
        return spec, None
    target, colon, func = spec.rpartition(":")
    if not colon or not target or not func:
        raise SweepError("run-batch: analysis %r: expected MODULE:FUNC or FILE.py:FUNC" % spec)
    if target.endswith(".py"):
        path = os.path.abspath(target)
        if os.path.exists(path) and os.path.samefile(path, script):
            return None, func
        if not os.path.isfile(path):
            raise SweepError("run-batch: analysis %r: no such file %s" % (spec, target))
        modspec = importlib.util.spec_from_file_location("_sweep_analysis", path)
        module = importlib.util.module_from_spec(modspec)
        modspec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise SweepError("run-batch: analysis %r: cannot import module %s: %s" % (spec, target, exc)) from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise SweepError("run-batch: analysis %r: %s has no function %r" % (spec, target, func))
    return fn, None


def _call_with(fn: Callable, available: dict) -> Any:
    """Call fn with the names it asks for among `available` (time, model, params)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn()
    if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return fn(**available)
    return fn(**{k: v for k, v in available.items() if k in sig.parameters})


class Terminated(BaseException):
    """SIGTERM (a launcher's interrupt or timeout, or Slurm's): the run ends recorded as interrupted."""


def _catch_sigterm() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(signum: int, frame: Any) -> None:
        raise Terminated("terminated by SIGTERM")

    return signal.signal(signal.SIGTERM, on_term)


class _Tee(io.TextIOBase):
    def __init__(self, *streams: Any):
        self._streams = streams

    def write(self, s: str) -> int:
        for st in self._streams:
            st.write(s)
        return len(s)

    def flush(self) -> None:
        for st in self._streams:
            st.flush()


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors += 1
        else:
            self.warnings += 1


def _versions() -> dict[str, str]:
    from . import __version__

    out = {"python": platform.python_version(), "sweep": __version__, "param": param.__version__}
    if "numpy" in sys.modules:
        out["numpy"] = sys.modules["numpy"].__version__
    return out


def git_state(path: str) -> dict | None:
    """Commit and dirty flag of the git repository holding `path`, or None."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            break
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
    try:
        commit = subprocess.run(["git", "-C", d, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "-C", d, "status", "--porcelain"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if commit.returncode != 0:
        return {"repository": d, "commit": None, "dirty": bool(status.stdout.strip())}
    return {"repository": d, "commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _find_time_hook(ns: dict) -> Callable[[float], None] | None:
    run = ns.get("run")
    if callable(run) and not inspect.isclass(run):
        return run
    sim = ns.get("simulation")
    if sim is not None and callable(getattr(sim, "run", None)) and hasattr(sim, "time"):
        def advance(until: float) -> None:
            now = sim.time() if callable(sim.time) else sim.time
            if until > now:
                sim.run(until - now)
        return advance
    return None


def run_batch(script: str, times: Any = None, analysis_fn: str | Callable | None = None, *,
              output_directory: str | None = None, tag: str = "", dirname_prefix: str = "",
              name_time_format: str = layout.DEFAULT_NAME_TIME_FORMAT, name_time: str | None = None,
              max_name_length: int = 200, snapshot: bool = False, metadata_dir: str | None = None,
              compress_metadata: str | None = None, allow_unused: bool = False,
              name_keys: Sequence[str] | None = None, abbreviations: dict[str, str] | None = None,
              command_line: str | None = None, **params: Any) -> str:
    """Run one model script with `params` overriding its declared defaults; return the run directory.

    Bad input raises SweepError (nothing is left on disk); an exception in the
    script or the analysis raises ScriptError after recording the run as failed.
    """
    global global_params, _current_run_dir
    script = os.path.abspath(os.path.expanduser(script))
    if not os.path.isfile(script):
        raise SweepError("run-batch: no such script: %s" % script)
    if compress_metadata not in (None, "tar.gz", "zip"):
        raise SweepError("run-batch: --compress-metadata must be tar.gz or zip, got %r" % compress_metadata)
    if compress_metadata and not metadata_dir:
        raise SweepError("run-batch: --compress-metadata needs --metadata-dir")
    times = resolve_times(times)
    analysis, analysis_in_script = _load_analysis(analysis_fn, script)

    outdir = layout.make_output_directory(output_directory or layout.default_output_directory(), "run-batch: ")

    time_str = name_time or _time.strftime(name_time_format)
    name = layout.run_dir_name(script, params, time_str=time_str, tag=tag, prefix=dirname_prefix,
                               name_keys=name_keys, abbreviations=abbreviations, max_length=max_name_length)
    rdir = os.path.join(outdir, name)
    if os.path.dirname(os.path.abspath(rdir)) != outdir:  # escape_name makes this impossible; belt and braces
        raise SweepError("run-batch: run directory %r would leave %s" % (name, outdir))
    try:
        os.mkdir(rdir)
    except FileExistsError:
        raise SweepError("run-batch: run directory already exists, refusing to overwrite: %s" % rdir) from None
    except OSError as exc:
        raise SweepError("run-batch: cannot create run directory %s: %s" % (rdir, exc.strerror)) from None

    sim = layout.simname(script, time_str, tag, dirname_prefix)
    meta = os.path.join(rdir, layout.escape_name(metadata_dir)) if metadata_dir else rdir
    if metadata_dir:
        os.mkdir(meta)
    shutil.copy2(script, os.path.join(meta, os.path.basename(script)))

    task = os.environ.get(layout.TASK_ENV, "")
    record: dict[str, Any] = {
        "status": "running", "script": script, "params": params, "times": times,
        "host": platform.node(), "versions": _versions(), "start": _time.time(), "pid": os.getpid(),
        "out": os.path.relpath(os.path.join(meta, sim + ".out"), rdir),
    }
    if task:
        root, tid, attempt = task.split("::")
        record.update(tid=int(tid), attempt=int(attempt))
    else:
        record["git"] = git_state(script)
    layout.write_json_atomic(layout.run_record_path(rdir), record, fsync=False)

    out = open(os.path.join(meta, sim + ".out"), "w", buffering=1)
    cmd = command_line or " ".join(shlex.quote(a) for a in ["sweep", "run-batch", script] +
                                   [x for k, v in params.items() for x in ("-p", "%s=%r" % (k, v))])
    out.write("# %s\n# host %s, %s\n# script %s\n# started %s\n" % (
        cmd, platform.node(), ", ".join("%s %s" % kv for kv in record["versions"].items()), script,
        datetime.datetime.now().isoformat(timespec="seconds")))

    counter = _Counter()
    param_logger = logging.getLogger("param")
    param_logger.addHandler(counter)
    old_showwarning = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        counter.warnings += 1
        old_showwarning(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(old_out, out), _Tee(old_err, out)
    global_params = _new_global_params(params)
    _current_run_dir = rdir
    _pending.clear()
    status, error, exit_code, bad_input = "failed", None, 1, False
    results_file = open(layout.results_path(rdir), "w")
    old_term = _catch_sigterm()
    try:
        ns: dict[str, Any] = {"__name__": SCRIPT_MODULE_NAME, "__file__": script, "__builtins__": __builtins__}
        with open(script) as f:
            code = compile(f.read(), script, "exec")
        sys.path.insert(0, os.path.dirname(script))
        try:
            exec(code, ns)
        finally:
            sys.path.remove(os.path.dirname(script))
        unused = global_params.unused()
        if unused and not allow_unused:
            declared = ", ".join(global_params._declared) or "none"
            raise ParameterError("parameter%s %s not declared by %s (declared: %s); pass --allow-unused to permit"
                                 % ("s" if len(unused) > 1 else "", ", ".join(unused),
                                    os.path.basename(script), declared))
        if analysis_in_script:
            analysis = ns.get(analysis_in_script)
            if not callable(analysis):
                raise ParameterError("analysis %r: %s has no function %r" % (
                    analysis_fn, os.path.basename(script), analysis_in_script))
        advance = _find_time_hook(ns)
        model = type(sys)("model")
        model.__dict__.update(ns)

        def analyse(t: Any) -> None:
            _pending.clear()
            fn = analysis or _default_analysis
            returned = _call_with(fn, {"time": t, "model": model, "params": global_params, "run_dir": rdir})
            if isinstance(returned, dict):
                _pending.update(returned)
            _write_results(rdir, t, dict(_pending), results_file)
            _pending.clear()

        if advance is None:
            analyse(times[-1] if times else None)
        else:
            for t in times:
                advance(t)
                analyse(t)
        if snapshot:
            hook = ns.get("snapshot")
            if callable(hook):
                import pickle

                with open(os.path.join(rdir, sim + ".pickle"), "wb") as f:
                    pickle.dump(hook(), f)
            else:
                warnings.warn("--snapshot: %s defines no snapshot() hook; nothing saved" % os.path.basename(script))
        status, exit_code = "done", 0
    except ParameterError as exc:
        error, exit_code, bad_input = str(exc), 2, True
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        status, exit_code = ("done", 0) if code == 0 else ("failed", code)
        error = None if code == 0 else "script exited with status %s" % exc.code
    except BaseException as exc:  # the script's own failure, recorded with its traceback
        counter.errors += 1
        traceback.print_exc()
        error = "%s: %s" % (type(exc).__name__, exc)
        if isinstance(exc, (KeyboardInterrupt, Terminated)):
            status, exit_code = "interrupted", 130 if isinstance(exc, KeyboardInterrupt) else 143
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        sys.stdout, sys.stderr = old_out, old_err
        warnings.showwarning = old_showwarning
        param_logger.removeHandler(counter)
        _current_run_dir = None
        results_file.flush()
        os.fsync(results_file.fileno())
        results_file.close()
        declared = _jsonable(global_params.values())
        global_params = _new_global_params()

    if bad_input:  # the run never happened: leave nothing behind
        out.close()
        shutil.rmtree(rdir, ignore_errors=True)
        raise ParameterError("run-batch: " + error)

    end = _time.time()
    out.write("# finished %s: %s in %.2f s\nThere were %d error(s) and %d warning(s).\n" % (
        datetime.datetime.now().isoformat(timespec="seconds"), status, end - record["start"],
        counter.errors, counter.warnings))
    out.close()
    if metadata_dir and compress_metadata:
        fmt = "gztar" if compress_metadata == "tar.gz" else "zip"
        shutil.make_archive(meta, fmt, root_dir=rdir, base_dir=os.path.basename(meta))
        shutil.rmtree(meta)
    record.update(status=status, exit_code=exit_code, error=error, end=end, duration=end - record["start"],
                  declared=declared, versions=_versions())
    layout.write_json_atomic(layout.run_record_path(rdir), record)
    if status != "done":
        raise ScriptError("run-batch: %s %s: %s (see %s)" % (name, status, error, record["out"]), exit_code)
    return rdir


def _default_analysis(model: Any, run_dir: str, params: _GlobalParamsBase) -> dict:
    """Save the script_repr (every declared parameter and its value) and the script's own results()."""
    import json

    values = params.values()
    layout.write_atomic(os.path.join(run_dir, layout.SCRIPT_REPR),
                        json.dumps(_jsonable(values), indent=1) + "\n", fsync=False)
    hook = getattr(model, "results", None)
    if callable(hook):
        returned = _call_with(hook, {"model": model, "params": params})
        return returned if isinstance(returned, dict) else {}
    return {}
