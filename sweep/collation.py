"""Collate: every run's parameters and saved results in one pandas table.

One row per (run, analysis time). Bookkeeping columns start with `_`
(`_sweep`, `_tid`, `_time`, `_status`, ...), so a parameter or result named
`status` never clashes with them. Paths are resolved from each root's own
location, never from paths recorded inside it, so moved roots collate too.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import warnings
from collections import namedtuple
from typing import Any, Iterable

from . import layout
from .errors import SweepError

CACHE_VERSION = 2
ARRAY_KEY = "__array__"
FRONT = ["_sweep", "_tid"]
BACK = ["_status", "_attempts", "_duration", "_run_dir", "_stdout", "_stderr", "_note"]


class CollateWarning(UserWarning):
    """A damaged or inconsistent file met while collating; the affected rows say what is wrong."""


def _warn(msg: str) -> None:
    warnings.warn(msg, CollateWarning, stacklevel=3)


# --- reading one root -------------------------------------------------------------


def _read_lines_json(path: str) -> tuple[list[dict], str | None]:
    """Parse a JSON-lines file: (objects, problem) where problem names the first bad line."""
    rows: list[dict] = []
    with open(path, "rb") as f:
        data = f.read()
    lines = [ln for ln in data.split(b"\n") if ln.strip()]
    try:  # one parse per file; the line-by-line pass below only runs to locate a problem
        rows = json.loads(b"[" + b",".join(lines) + b"]")
        if all(isinstance(r, dict) for r in rows):
            return rows, None
        rows = []
    except ValueError:
        pass
    loads = json.loads
    for i, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            obj = loads(line)
        except ValueError:
            return rows, "%s line %d: invalid JSON" % (os.path.basename(path), i)
        if not isinstance(obj, dict):
            return rows, "%s line %d: not a JSON object" % (os.path.basename(path), i)
        rows.append(obj)
    return rows, None


def _stream_paths(root: str) -> dict[int, tuple[str | None, str | None]]:
    """Latest stdout/stderr of each tid found in streams/ (for roots written by Lancet)."""
    found: dict[int, dict[str, tuple[int, str]]] = {}
    try:
        names = os.listdir(layout.streams_dir(root))
    except OSError:
        return {}
    for name in names:
        m = layout.STREAM_RE.search(name)
        if not m:
            continue
        tid, attempt, kind = int(m.group(1)), int(m.group(2) or 0), m.group(3)
        slot = found.setdefault(tid, {})
        if kind not in slot or slot[kind][0] <= attempt:
            slot[kind] = (attempt, os.path.join(layout.streams_dir(root), name))
    return {tid: (s.get("o", (0, None))[1], s.get("e", (0, None))[1]) for tid, s in found.items()}


def _stdout_results(path: str | None) -> tuple[list[dict], str | None]:
    """Lancet's rule: when every line a task printed is a JSON object, its keys become columns."""
    if not path or not os.path.isfile(path):
        return [], None
    with open(path, "rb") as f:
        lines = [ln for ln in f.read().split(b"\n") if ln.strip()]
    objs = []
    for ln in lines:
        try:
            obj = json.loads(ln)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            if objs:
                return [], "%s: a non-JSON line among JSON lines" % os.path.basename(path)
            return [], None
        objs.append(obj)
    if not objs:
        return [], None
    merged: dict[Any, dict] = {}
    for obj in objs:  # lines with the same time (or none) merge into one row
        merged.setdefault(json.dumps(obj.get("time")), {}).update(obj)
    return list(merged.values()), None


def _signature(root: str, files: list[str]) -> tuple:
    sig = []
    for rel in files:
        try:
            st = os.stat(os.path.join(root, rel))
            sig.append((rel, st.st_mtime_ns, st.st_size))
        except OSError:
            sig.append((rel, None, None))
    return tuple(sig)


def _root_files(root: str, batch: str, tasks: dict) -> list[str]:
    """Every file a root's table depends on; any change to one of them invalidates the cache."""
    files = [os.path.basename(layout.log_path(root, batch)), os.path.basename(layout.tasks_file(root))]
    try:
        files += sorted(os.path.relpath(os.path.join(layout.records_dir(root), n), root)
                        for n in os.listdir(layout.records_dir(root)))
    except OSError:
        pass
    try:
        files += sorted(os.path.relpath(os.path.join(layout.streams_dir(root), n), root)
                        for n in os.listdir(layout.streams_dir(root)))
    except OSError:
        pass
    for entry in tasks.values():
        if entry.get("run_dir"):
            files.append(os.path.join(entry["run_dir"], layout.RESULTS_FILE))
    return files


def _collate_root(root: str, use_cache: bool = True) -> "Any":
    """The table of one root as a DataFrame (all times), from the cache when nothing changed."""
    from .launch import state as statemod

    r = statemod.load_root(root)
    cache = layout.collate_cache_path(r.path)
    if use_cache:
        files = _root_files(r.path, r.batch_name, r.tasks)
        sig = (CACHE_VERSION, r.path, _signature(r.path, files))  # the path: cached rows hold absolute paths
        try:
            with open(cache, "rb") as f:
                cached_sig, cached = pickle.load(f)
            if cached_sig == sig:
                return cached, []
        except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass
    df, problems = _build_root_table(r)
    # A root still in flight can change without a file changing (Slurm queue states): cache only settled roots.
    if use_cache and not df["_status"].isin(["pending", "running"]).any():
        try:
            layout.write_atomic(cache, pickle.dumps((sig, df), protocol=pickle.HIGHEST_PROTOCOL), fsync=False)
        except OSError:
            pass  # a read-only root still collates
    return df, problems


def _build_root_table(r: Any) -> tuple[Any, list[str]]:
    import pandas as pd

    from .launch import state as statemod
    from .launch.resume import refined_states

    root = r.path
    records = statemod.read_records(root)
    states = refined_states(r, records)
    lancet_streams = _stream_paths(root) if not r.tasks else {}
    problems: list[str] = []
    params: list[str] = []
    for spec in r.specs.values():
        for k in spec:
            if k not in params:
                params.append(k)
    varying = [k for k in r.info.get("varying_keys", []) if k in params]
    params = varying + [k for k in params if k not in varying]

    rows: list[tuple[int, dict, dict, dict]] = []  # (tid, spec, results, bookkeeping)
    result_keys: list[str] = []
    seen_keys: set[str] = set()
    per_run_keys: list[tuple[int, set, str]] = []
    for ts in states:
        rec = ts.record or {}
        book = {"_status": ts.state, "_attempts": ts.attempts, "_duration": rec.get("duration"),
                "_run_dir": None, "_stdout": None, "_stderr": None, "_note": None}
        if rec.get("stdout"):
            book["_stdout"] = os.path.join(root, rec["stdout"])
            book["_stderr"] = os.path.join(root, rec["stderr"])
        elif ts.tid in lancet_streams:
            book["_stdout"], book["_stderr"] = lancet_streams[ts.tid]
        run_dir = rec.get("run_dir") or ts.run_dir
        results: list[dict] = []
        problem = None
        results_file = None
        if run_dir:
            full = os.path.join(root, run_dir)
            book["_run_dir"] = full
            results_file = layout.results_path(full)
            if not os.path.isdir(full):
                if ts.state == "done":
                    problem, book["_status"] = "run directory missing: %s" % run_dir, "missing"
                    results_file = root
            elif os.path.isfile(results_file):
                results, problem = _read_lines_json(results_file)
                if problem:
                    book["_status"] = "damaged"
            elif ts.state == "done":
                problem, book["_status"] = "no %s in %s" % (layout.RESULTS_FILE, run_dir), "damaged"
        elif book["_stdout"]:
            results, problem = _stdout_results(book["_stdout"])
            results_file = book["_stdout"]
            if problem:
                book["_status"] = "damaged"
        if problem:
            book["_note"] = problem
            problems.append("%s: %s" % (results_file or root, problem))
        keys: set[str] = set()
        for res in results or [{}]:
            res = {k: (os.path.join(root, run_dir, v[ARRAY_KEY]) if isinstance(v, dict) and ARRAY_KEY in v
                       and run_dir else v) for k, v in res.items()}
            for k in res:
                keys.add(k)
                if k not in seen_keys and k != "time":
                    seen_keys.add(k)
                    result_keys.append(k)
            rows.append((ts.tid, ts.spec, res, book))
        if results and not problem:
            per_run_keys.append((ts.tid, keys, results_file))
    for tid in sorted(set(records) - set(r.specs)):
        rec = records[tid][max(records[tid])]
        note = "record for tid %d is not in the log" % tid
        problems.append("%s: %s" % (layout.record_path(root, tid, max(records[tid])), note))
        rows.append((tid, {}, {}, {"_status": "unlogged", "_attempts": len(records[tid]),
                                   "_duration": rec.get("duration"), "_run_dir": None, "_stdout": None,
                                   "_stderr": None, "_note": note}))
    if per_run_keys:  # result keys that differ between runs
        union = set().union(*(k for _, k, _ in per_run_keys))
        short = [(tid, union - k, f) for tid, k, f in per_run_keys if union - k]
        if short:
            for tid, missing, _ in short:
                for row in rows:
                    if row[0] == tid and not row[3]["_note"]:
                        row[3]["_note"] = "missing results: %s" % ", ".join(sorted(missing))
            problems.append("%s: result keys differ between runs (%d run(s) lack some, e.g. %s)"
                            % (short[0][2], len(short), ", ".join(sorted(short[0][1]))))

    clash = [k for k in result_keys if k in params]
    cols: dict[str, list] = {"_sweep": [], "_tid": []}
    for k in params:
        cols[k] = []
    cols["_time"] = []
    out_keys = [(k, k + "_result" if k in clash else k) for k in result_keys]
    for _, name in out_keys:
        cols[name] = []
    for k in BACK:
        cols[k] = []
    sweep_name = os.path.basename(root)
    nan = float("nan")
    for tid, spec, res, book in rows:
        cols["_sweep"].append(sweep_name)
        cols["_tid"].append(tid)
        for k in params:
            cols[k].append(spec.get(k, nan))
        cols["_time"].append(res.get("time", nan))
        for k, name in out_keys:
            cols[name].append(res.get(k, nan))
        for k in BACK:
            cols[k].append(book[k])
    df = pd.DataFrame(cols)
    return df, problems


def collate(roots: str | Iterable[str], times: str = "all", load_arrays: bool = False,
            use_cache: bool = True) -> "Any":
    """One row per (run, analysis time) over one or more sweep roots (sweep's or Lancet's)."""
    import pandas as pd

    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    if times not in ("all", "last"):
        raise SweepError("collate: times must be 'all' or 'last', got %r" % (times,))
    frames = []
    for root in roots:
        df, problems = _collate_root(os.fspath(root), use_cache)
        for p in problems:
            _warn(p)
        frames.append(df)
    if not frames:
        raise SweepError("collate: no roots given")
    df = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0].copy()
    if len(frames) > 1:  # keep bookkeeping at the edges after the union of columns
        df = df[[c for c in FRONT] + [c for c in df.columns if c not in FRONT + BACK] + BACK]
    if times == "last" and len(df):
        t = df["_time"].fillna(float("-inf"))
        last = t.groupby([df["_sweep"], df["_tid"]]).transform("max")
        df = df[t == last].reset_index(drop=True)
    if load_arrays:
        df = globals()["load_arrays"](df)
    return df


def array_columns(df: Any) -> list[str]:
    """Columns holding paths of saved .npy arrays."""
    import pandas as pd

    out = []
    for c in df.columns:
        if c.startswith("_") or pd.api.types.is_numeric_dtype(df[c]):
            continue
        values = df[c].dropna()
        if len(values) and all(isinstance(v, str) and v.endswith(".npy") for v in values):
            out.append(c)
    return out


def load_arrays(df: Any, columns: list[str] | None = None) -> Any:
    """Replace array path columns by the loaded numpy arrays (missing files become None)."""
    import numpy as np

    df = df.copy()
    for c in columns or array_columns(df):
        df[c] = [np.load(p) if isinstance(p, str) and os.path.isfile(p) else None for p in df[c]]
    return df


# --- the CLI and the end of a sweep -----------------------------------------------------


def _display(df: Any, max_rows: int = 30) -> str:
    import pandas as pd

    cols = [c for c in df.columns if not c.startswith("_") and c not in array_columns(df)]
    view = df[["_tid"] + (["_time"] if df["_time"].notna().any() else []) + cols + ["_status"]]
    with pd.option_context("display.max_rows", max_rows, "display.width", 160, "display.max_columns", 20):
        return view.to_string(index=False, max_rows=max_rows)


def write_table(df: Any, path: str) -> None:
    ext = os.path.splitext(path)[1].lower()
    tmp = path + ".tmp"
    if ext == ".csv":
        df.to_csv(tmp, index=False)
    elif ext == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SweepError("-o %s: writing Parquet needs pyarrow: pip install 'sweep[parquet]'" % path) from None
        df.to_parquet(tmp, index=False)
    elif ext == ".json":
        df.to_json(tmp, orient="records", lines=True)
    else:
        raise SweepError("-o %s: unknown table format %r; use .csv, .parquet or .json" % (path, ext))
    os.replace(tmp, path)


def write_root_table(root: str, stream: Any = None) -> Any:
    """After a sweep: collated.csv (and .parquet with pyarrow) in the root, and the table on the console."""
    stream = stream or sys.stdout
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CollateWarning)
        df = collate(root)
    for w in caught:
        print("warning: %s" % w.message, file=sys.stderr)
    write_table(df, layout.collated_path(root, ".csv"))
    try:
        import pyarrow  # noqa: F401

        write_table(df, layout.collated_path(root, ".parquet"))
    except ImportError:
        pass
    print(_display(collate(root, times="last")), file=stream)
    print("Collated %d row(s) into %s" % (len(df), os.path.relpath(layout.collated_path(root, ".csv"))),
          file=stream)
    return df


def collate_cli(roots: list[str], output: str | None, times: str) -> int:
    df = collate(roots, times=times)
    if output:
        write_table(df, output)
        print("%d row(s) written to %s" % (len(df), output))
    else:
        print(_display(df, max_rows=60))
    return 0


# --- Lancet's Output -------------------------------------------------------------------


class Output:
    """The launches under a directory, each a namedtuple (Lancet's Output): iterable and indexable."""

    fields = ["timestamp", "path", "tids", "specs", "stdout", "stderr", "log", "info"]

    def __init__(self, output_dir: str, expansions: dict | None = None, **params: Any):
        self.output_dir = output_dir
        self.expansions = dict(expansions or {})
        self.launches: list = []
        self.update()

    def update(self) -> None:
        Launch = namedtuple("Launch", self.fields + list(self.expansions))
        launches = []
        for name in sorted(os.listdir(self.output_dir)):
            path = os.path.join(self.output_dir, name)
            batch = layout.find_batch_name(path) if os.path.isdir(path) else None
            if batch is None:
                continue
            from .args import Log

            log = layout.log_path(path, batch)
            specs = Log.extract_log(log) if os.path.isfile(log) else {}
            with open(layout.info_path(path, batch)) as f:
                info = json.load(f)
            streams = _stream_paths(path)
            tids = sorted(specs)
            values = {"timestamp": tuple(info.get("timestamp") or ()), "path": path, "tids": tids,
                      "specs": [specs[t] for t in tids], "stdout": [streams.get(t, (None, None))[0] for t in tids],
                      "stderr": [streams.get(t, (None, None))[1] for t in tids], "log": log, "info": info}
            for k, fn in self.expansions.items():
                values[k] = fn(path)
            launches.append(Launch(**values))
        self.launches = sorted(launches, key=lambda l: (l.timestamp, l.path))

    def __getitem__(self, index: int) -> Any:
        return self.launches[index]

    def __iter__(self):
        return iter(self.launches)

    def __len__(self) -> int:
        return len(self.launches)

    def __repr__(self) -> str:
        return "Output(%r)" % self.output_dir
