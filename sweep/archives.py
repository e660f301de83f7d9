"""Archive a sweep, verify an archive, reproduce a sweep from it, compare two sweeps run by run."""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any

from . import __version__, layout
from .errors import SweepError

MANIFEST = "MANIFEST.json"
ENVIRONMENT = "environment.json"
GIT_DIFF = "environment.git.diff"
SKIP = {os.path.basename(layout.collate_cache_path("")), os.path.basename(layout.launcher_file(""))}
COLLATED = os.path.basename(layout.collated_path(""))


def _sha256(fileobj: Any) -> str:
    h = hashlib.sha256()
    for block in iter(lambda: fileobj.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def environment() -> dict:
    """Python, platform and the versions of every installed distribution."""
    from importlib import metadata

    packages = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            packages[name.lower()] = dist.version
    return {"python": platform.python_version(), "platform": platform.platform(), "sweep": __version__,
            "packages": dict(sorted(packages.items()))}


def _root_files(root: str, arrays: bool) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if not (rel_dir == "." and d == "attempts")
                             and not (not arrays and d == layout.ARRAYS_DIR))
        for name in sorted(filenames):
            if name in SKIP or name.startswith(".") and name.endswith(".tmp"):
                continue
            out.append(os.path.normpath(os.path.join(rel_dir, name)))
    return out


def archive(root: str, output: str | None = None, arrays: bool = True) -> str:
    """One self-contained .tar.gz of a sweep root with a manifest of checksums; written atomically."""
    from .collation import collate, write_table
    from .launch.state import load_root

    r = load_root(root)
    name = os.path.basename(r.path)
    output = os.path.abspath(output or r.path.rstrip(os.sep) + ".tar.gz")
    if os.path.exists(output):
        raise SweepError("archive: %s already exists; refusing to overwrite" % output)
    staging = tempfile.mkdtemp(prefix=".sweep-archive-", dir=os.path.dirname(output))
    partial = output + ".partial"
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write_table(collate(r.path), os.path.join(staging, COLLATED))
        env = environment()
        git = r.info.get("metadata", {}).get("git") or {}
        env["git"] = {k: git.get(k) for k in ("repository", "commit", "dirty")}
        with open(os.path.join(staging, ENVIRONMENT), "w") as f:
            json.dump(env, f, indent=1)
        if git.get("repository"):
            diff = subprocess.run(["git", "-C", git["repository"], "diff", "HEAD"], capture_output=True,
                                  text=True, timeout=60).stdout
            with open(os.path.join(staging, GIT_DIFF), "w") as f:
                f.write(diff)
        members = [(rel, os.path.join(r.path, rel)) for rel in _root_files(r.path, arrays)
                   if rel not in (COLLATED, ENVIRONMENT, GIT_DIFF)]
        members += [(rel, os.path.join(staging, rel)) for rel in sorted(os.listdir(staging))]
        manifest = {"format": 1, "root": name, "created": time.time(), "arrays": arrays, "files": {}}
        for rel, path in members:
            with open(path, "rb") as f:
                manifest["files"][rel] = _sha256(f)
        with tarfile.open(partial, "w:gz") as tf:
            for rel, path in members:
                tf.add(path, arcname=os.path.join(name, rel), recursive=False)
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(os.path.join(name, MANIFEST))
            info.size, info.mtime = len(data), int(time.time())
            tf.addfile(info, io.BytesIO(data))
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, output)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output


def verify(path: str) -> list[str]:
    """Every problem found in an archive (empty when every checksum matches)."""
    if not os.path.isfile(path):
        raise SweepError("verify: no such archive: %s" % path)
    problems = []
    try:
        with tarfile.open(path, "r:gz") as tf:
            members = [m for m in tf.getmembers() if m.isfile()]
            manifest_member = [m for m in members if m.name.split("/", 1)[-1] == MANIFEST]
            if len(manifest_member) != 1:
                raise SweepError("verify: %s: no %s inside; not a sweep archive" % (path, MANIFEST))
            top = manifest_member[0].name.split("/", 1)[0]
            manifest = json.load(tf.extractfile(manifest_member[0]))
            seen = set()
            for m in members:
                rel = m.name.split("/", 1)[-1] if "/" in m.name else m.name
                if rel == MANIFEST:
                    continue
                seen.add(rel)
                want = manifest["files"].get(rel)
                if want is None:
                    problems.append("not in the manifest: %s" % rel)
                elif _sha256(tf.extractfile(m)) != want:
                    problems.append("checksum differs: %s" % rel)
            for rel in manifest["files"]:
                if rel not in seen:
                    problems.append("missing from the archive: %s" % rel)
            if any(not m.name.startswith(top + "/") for m in tf.getmembers()):
                problems.append("entries outside %s/" % top)
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        problems.append("unreadable archive: %s" % exc)
    return problems


def verify_cli(path: str) -> int:
    problems = verify(path)
    if problems:
        for p in problems:
            print(p)
        print("FAILED: %s: %d problem(s)" % (path, len(problems)))
        return 1
    with tarfile.open(path, "r:gz") as tf:
        n = sum(1 for m in tf.getmembers() if m.isfile()) - 1
    print("OK: %s: %d file(s) match their checksums" % (path, n))
    return 0


def extract(path: str, target: str) -> str:
    """Extract safely (no absolute paths, `..`, links leaving the target, devices); return the root inside."""
    os.makedirs(target, exist_ok=True)
    try:
        with tarfile.open(path, "r:gz") as tf:
            tops = {m.name.split("/", 1)[0] for m in tf.getmembers()}
            tf.extractall(target, filter="data")
    except tarfile.FilterError as exc:
        raise SweepError("refusing to extract %s: %s" % (path, exc)) from None
    except (tarfile.TarError, OSError) as exc:
        raise SweepError("cannot extract %s: %s" % (path, exc)) from None
    if len(tops) != 1:
        raise SweepError("%s: expected one sweep root inside, found %s" % (path, ", ".join(sorted(tops))))
    return os.path.join(target, tops.pop())


def _environment_of(root: str) -> dict:
    env_path = os.path.join(root, ENVIRONMENT)
    if os.path.isfile(env_path):
        return layout.read_json(env_path)
    batch = layout.find_batch_name(root)
    info = layout.read_json(layout.info_path(root, batch))
    return {"python": info.get("versions", {}).get("python"), "packages": {
        k: v for k, v in info.get("versions", {}).items() if k != "python"},
        "git": info.get("metadata", {}).get("git", {})}


def environment_differences(then: dict, now: dict) -> list[str]:
    out = []
    if then.get("python") and then.get("python") != now.get("python"):
        out.append("python %s -> %s" % (then.get("python"), now.get("python")))
    for name in ("sweep", "param", "numpy", "pandas"):
        a, b = then.get("packages", {}).get(name), now.get("packages", {}).get(name)
        if a and a != b:
            out.append("%s %s -> %s" % (name, a, b))
    a, b = (then.get("git") or {}).get("commit"), (now.get("git") or {}).get("commit")
    if a and b and a != b:  # reproducing from archived script copies outside any repository: nothing to compare
        out.append("git commit %s -> %s" % (a[:12], b[:12]))
    return out


def reproduce(source: str, output_directory: str | None = None, launcher: str = "local",
              max_concurrency: int | None = None, quiet: bool = False) -> Any:
    """Re-run every archived task with the archived values and script copies into a new root."""
    from .args import Args
    from .launch.base import git_metadata
    from .launch.state import load_root
    from .specfile import load_spec

    output_directory = os.path.abspath(output_directory or layout.default_output_directory())
    if os.path.isfile(source):
        problems = verify(source)
        if problems:
            raise SweepError("reproduce: %s fails verification: %s" % (source, "; ".join(problems[:3])))
        stem = os.path.basename(source).split(".tar")[0]
        root = extract(source, os.path.join(output_directory, "%s.source-%s" % (stem, time.strftime("%Y%m%d%H%M%S"))))
    else:
        root = source
    r = load_root(root)
    spec_name = r.sweep.get("spec")
    spec_path = os.path.join(layout.spec_dir(r.path), spec_name) if spec_name else None
    if not spec_path or not os.path.isfile(spec_path):
        raise SweepError("reproduce: %s holds no spec copy (spec/); only sweeps launched from a spec file "
                         "can be reproduced" % source)
    sweep = load_spec(spec_path)
    space = Args([r.specs[t] for t in sorted(r.specs)])
    then = _environment_of(r.path)
    now = environment()
    script = getattr(sweep.command, "script", None)
    now["git"] = {k: v for k, v in git_metadata([p for p in (spec_path, script) if p]).items()
                  if k in ("repository", "commit", "dirty")}
    diffs = environment_differences(then, now)
    for d in diffs:
        print("warning: environment differs from the archive: %s" % d, file=sys.stderr)
    settings = dict(r.sweep.get("settings", {}))
    settings = {k: v for k, v in settings.items() if k in ("max_concurrency", "retries", "timeout", "fail_fast")
                and v is not None}
    if max_concurrency:
        settings["max_concurrency"] = max_concurrency
    if launcher == "slurm":
        from .launch.slurm import SlurmLauncher as cls

        settings.pop("max_concurrency", None)
        settings["wait"] = True
    else:
        from .launch.local import Launcher as cls
    metadata = {"reproduced_from": os.path.abspath(source), "environment_differences": diffs}
    launch = cls(r.batch_name, space, sweep.command, output_directory=output_directory, quiet=quiet,
                 description=sweep.description, tag=sweep.tag, spec_path=spec_path, metadata=metadata, **settings)
    outcome = launch()
    layout.write_json_atomic(layout.reproduced_file(outcome.root), metadata)
    return outcome


def reproduce_cli(ns: Any) -> int:
    from .launch.base import report

    outcome = reproduce(ns.source, ns.output_directory, ns.launcher, ns.max_concurrency, ns.quiet)
    report(outcome)
    return outcome.exit_status


# --- compare --------------------------------------------------------------------


def _as_root(path: str, tmp: str) -> str:
    if os.path.isfile(path):
        return extract(path, tempfile.mkdtemp(dir=tmp))
    return path


def _values_equal(a: Any, b: Any, rtol: float, atol: float) -> bool:
    import numpy as np

    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return bool(np.isclose(a, b, rtol=rtol, atol=atol))
    return a == b


def _arrays_equal(pa: Any, pb: Any, rtol: float, atol: float) -> tuple[bool, str, str]:
    import numpy as np

    if not (isinstance(pa, str) and isinstance(pb, str) and os.path.isfile(pa) and os.path.isfile(pb)):
        return pa == pb, str(pa), str(pb)
    a, b = np.load(pa), np.load(pb)
    if a.shape != b.shape:
        return False, "shape %s" % (a.shape,), "shape %s" % (b.shape,)
    same = bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    if same:
        return True, "", ""
    i = np.unravel_index(np.argmax(np.abs(a - b)), a.shape)
    return False, "array[%s]=%r" % (",".join(map(str, i)), a[i].item()), "array[%s]=%r" % (
        ",".join(map(str, i)), b[i].item())


def compare(root_a: str, root_b: str, rtol: float = 1e-9, atol: float = 0.0) -> dict:
    """Match runs by parameter values, compare every result at every time; report differences."""
    import warnings

    from .collation import array_columns, collate
    from .launch.state import load_root

    with tempfile.TemporaryDirectory() as tmp:
        ra, rb = _as_root(root_a, tmp), _as_root(root_b, tmp)
        params = []
        for r in (load_root(ra), load_root(rb)):
            for spec in r.specs.values():
                params += [k for k in spec if k not in params]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            da, db = collate(ra, use_cache=False), collate(rb, use_cache=False)
        results = [c for c in dict.fromkeys(list(da.columns) + list(db.columns))
                   if not c.startswith("_") and c not in params]
        arrays = set(array_columns(da)) | set(array_columns(db))

        def keyed(df: Any) -> dict:
            out: dict = {}
            for rec in df.to_dict("records"):
                key = json.dumps([[k, rec.get(k)] for k in params], default=str)
                out.setdefault(key, {}).setdefault(_norm(rec.get("_time")), []).append(rec)
            return out

        ka, kb = keyed(da), keyed(db)
        differences, compared, matched = [], 0, 0
        for key in ka:
            if key not in kb:
                continue
            matched += 1
            for t, rows_a in ka[key].items():
                rows_b = kb[key].get(t, [])
                for ra_row, rb_row in zip(rows_a, rows_b):
                    for col in results:
                        va, vb = ra_row.get(col, float("nan")), rb_row.get(col, float("nan"))
                        compared += 1
                        if col in arrays:
                            same, sa, sb = _arrays_equal(va, vb, rtol, atol)
                        else:
                            same, sa, sb = _values_equal(va, vb, rtol, atol), repr(va), repr(vb)
                        if not same:
                            differences.append({"params": dict(json.loads(key)), "time": t, "result": col,
                                                "a": sa, "b": sb, "tid_a": ra_row["_tid"], "tid_b": rb_row["_tid"]})
        only_a = [dict(json.loads(k)) for k in ka if k not in kb]
        only_b = [dict(json.loads(k)) for k in kb if k not in ka]
    return {"differences": differences, "only_a": only_a, "only_b": only_b, "matched": matched,
            "compared": compared, "identical": not differences and not only_a and not only_b}


def _norm(t: Any) -> Any:
    try:
        return None if t != t else float(t)
    except TypeError:
        return t


def compare_cli(a: str, b: str, rtol: float, atol: float) -> int:
    res = compare(a, b, rtol=rtol, atol=atol)
    fmt = lambda p: ", ".join("%s=%s" % kv for kv in p.items())  # noqa: E731
    if res["differences"]:
        print("%-40s %8s %-22s %-24s %-24s" % ("run (parameters)", "time", "result", "A", "B"))
        for d in res["differences"]:
            print("%-40s %8s %-22s %-24s %-24s" % (fmt(d["params"]), d["time"], d["result"], d["a"], d["b"]))
    for label, runs in (("only in A", res["only_a"]), ("only in B", res["only_b"])):
        for p in runs:
            print("%s: %s" % (label, fmt(p)))
    if res["identical"]:
        print("IDENTICAL within rtol=%g, atol=%g: %d run(s), %d value(s) compared"
              % (rtol, atol, res["matched"], res["compared"]))
        return 0
    runs = len({json.dumps(d["params"]) for d in res["differences"]})
    print("DIFFERENT: %d value(s) in %d run(s) differ; %d run(s) only in A, %d only in B (rtol=%g, atol=%g)"
          % (len(res["differences"]), runs, len(res["only_a"]), len(res["only_b"]), rtol, atol))
    return 1
