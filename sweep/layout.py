"""Every on-disk name, in one place: writers and readers call these functions.

A sweep root:

    <output_directory>/<timestamp>-<batch_name>[-<n>]/
        <batch_name>.log        one `<tid> <json point>` line per task (Lancet)
        <batch_name>.info       JSON metadata (Lancet's keys, plus ours)
        streams/                each attempt's stdout/stderr (Lancet's names)
        spec/                   the spec file and model script copies
        sweep.json              what resume needs: settings and how tasks run
        tasks.jsonl             one `{"tid", "argv", "run_dir"}` line per task
        tasks.idx               the byte offset of each tid's line (8 bytes each)
        launcher.json           pid and start time of the local launcher (resume refuses beside it)
        attempts/               run directories of unfinished attempts, moved aside
        records/                per-attempt status records, written atomically
        jobs.json               Slurm job ids and the tids of each (Slurm launcher only)
        slurm/chunk_<n>.json    Slurm with tasks_per_job > 1: the tids of each array index
        <run directories>       one per run_batch task
        collated.csv            the collated table, written when a sweep ends
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from typing import Any, Iterable

DEFAULT_TIMESTAMP_FORMAT = "%Y-%m-%d_%H%M"
DEFAULT_NAME_TIME_FORMAT = "%Y%m%d%H%M"
OUTPUT_DIRECTORY_ENV = "SWEEP_OUTPUT_DIRECTORY"
TASK_ENV = "SWEEP_TASK"  # "<root>::<tid>::<attempt>" in every task's environment

# --- sweep roots --------------------------------------------------------------


def default_output_directory() -> str:
    return os.environ.get(OUTPUT_DIRECTORY_ENV) or "Output"


def root_dir_name(timestamp: str, batch_name: str, n: int = 1) -> str:
    return "%s-%s" % (timestamp, batch_name) + ("" if n == 1 else "-%d" % n)


def log_path(root: str, batch_name: str) -> str:
    return os.path.join(root, batch_name + ".log")


def info_path(root: str, batch_name: str) -> str:
    return os.path.join(root, batch_name + ".info")


def streams_dir(root: str) -> str:
    return os.path.join(root, "streams")


def stream_paths(root: str, batch_name: str, tid: int, attempt: int, hhmmss: str) -> tuple[str, str]:
    """Lancet's `<batch>_<HHMMSS>_tid_<n>.o.<n>`; retries add `-r<attempt>` before the suffix."""
    base = "%s_%s_tid_%d%s" % (batch_name, hhmmss, tid, "" if attempt == 0 else "-r%d" % attempt)
    d = streams_dir(root)
    return os.path.join(d, "%s.o.%d" % (base, tid)), os.path.join(d, "%s.e.%d" % (base, tid))


STREAM_RE = re.compile(r"_tid_(\d+)(?:-r(\d+))?\.([oe])\.\d+$")


def spec_dir(root: str) -> str:
    return os.path.join(root, "spec")


def sweep_file(root: str) -> str:
    return os.path.join(root, "sweep.json")


def tasks_file(root: str) -> str:
    return os.path.join(root, "tasks.jsonl")


def tasks_index(root: str) -> str:
    """8-byte offsets of each tid's line in tasks.jsonl: a Slurm task finds its line in O(1)."""
    return os.path.join(root, "tasks.idx")


def append_tasks(root: str, entries: Iterable[dict]) -> None:
    """Append `{"tid", "argv", "run_dir"}` entries (tids in order, continuing the file) with their offsets."""
    with open(tasks_file(root), "ab") as f, open(tasks_index(root), "ab") as idx:
        offset = f.tell()
        for entry in entries:
            line = (json.dumps(entry) + "\n").encode()
            idx.write(struct.pack("<Q", offset))
            f.write(line)
            offset += len(line)


def read_task(root: str, tid: int) -> dict:
    """The tasks.jsonl entry of one tid, through the index (a scan when the index is missing)."""
    try:
        with open(tasks_index(root), "rb") as idx:
            idx.seek(8 * tid)
            raw = idx.read(8)
        if len(raw) == 8:
            with open(tasks_file(root), "rb") as f:
                f.seek(struct.unpack("<Q", raw)[0])
                entry = json.loads(f.readline())
            if entry.get("tid") == tid:
                return entry
    except (OSError, ValueError):
        pass
    with open(tasks_file(root)) as f:
        for line in f:
            entry = json.loads(line)
            if entry["tid"] == tid:
                return entry
    raise KeyError("tid %d is not in %s" % (tid, tasks_file(root)))


def records_dir(root: str) -> str:
    return os.path.join(root, "records")


def record_path(root: str, tid: int, attempt: int) -> str:
    return os.path.join(records_dir(root), "tid_%d.%d.json" % (tid, attempt))


RECORD_RE = re.compile(r"tid_(\d+)\.(\d+)\.json$")


ROOT_TOKEN = "{sweep_root}"  # stands for the root's own path in tasks.jsonl, so moved roots resume correctly


def portable_argv(argv: list[str], root: str) -> list[str]:
    return [a.replace(root, ROOT_TOKEN) for a in argv]


def local_argv(argv: list[str], root: str) -> list[str]:
    return [a.replace(ROOT_TOKEN, root) for a in argv]


def launcher_file(root: str) -> str:
    return os.path.join(root, "launcher.json")


def reproduced_file(root: str) -> str:
    """In a root made by `sweep reproduce`: where it came from and how the environment differed."""
    return os.path.join(root, "reproduced_from.json")


def slots_file(root: str, seq: int) -> str:
    """Slurm, tasks_per_job > 1: which tids each array index of the seq-th submitted chunk runs."""
    return os.path.join(root, "slurm", "chunk_%d.json" % seq)


def jobs_file(root: str) -> str:
    return os.path.join(root, "jobs.json")


def attempts_dir(root: str) -> str:
    """Where run directories of unfinished attempts are moved before a task is re-run."""
    return os.path.join(root, "attempts")


def collated_path(root: str, ext: str = ".csv") -> str:
    return os.path.join(root, "collated" + ext)


def collate_cache_path(root: str) -> str:
    return os.path.join(root, ".collate-cache.pickle")


def find_batch_name(root: str) -> str | None:
    """The batch name of a root, from its `.info` file (None when it is not a sweep root)."""
    try:
        names = os.listdir(root)
    except OSError:
        return None
    infos = sorted(n[:-5] for n in names if n.endswith(".info"))
    return infos[0] if infos else None


# --- run directories (run_batch) ------------------------------------------------

RUN_RECORD = "run.json"
RESULTS_FILE = "results.jsonl"
ARRAYS_DIR = "arrays"
SCRIPT_REPR = "script_repr.json"


def run_record_path(run_dir: str) -> str:
    return os.path.join(run_dir, RUN_RECORD)


def results_path(run_dir: str) -> str:
    return os.path.join(run_dir, RESULTS_FILE)


def array_relpath(name: str, time: Any) -> str:
    return os.path.join(ARRAYS_DIR, "%s_t%s.npy" % (escape_name(str(name)), escape_name(format_value(time))))


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\%]")


def escape_name(text: str) -> str:
    """Percent-escape what is unsafe in one path component (`/`, NUL, control characters, a leading dot)."""
    text = _UNSAFE.sub(lambda m: "%%%02X" % ord(m.group()), text)
    if text.startswith("."):
        text = "%2E" + text[1:]
    return text


def format_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "_".join(format_value(v) for v in value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return repr(value)
    return str(value)


def run_dir_name(script: str, params: dict, *, time_str: str, tag: str = "", prefix: str = "",
                 name_keys: Iterable[str] | None = None, abbreviations: dict[str, str] | None = None,
                 max_length: int = 200) -> str:
    """Topographica's name: `<prefix><time>_<scriptbase>[_<tag>],<key>=<value>,...`."""
    base = os.path.splitext(os.path.basename(script))[0]
    simname = prefix + time_str + "_" + base + ("_" + tag if tag else "")
    keys = list(params) if name_keys is None else [k for k in name_keys if k in params]
    abbreviations = abbreviations or {}
    ordered = [k for k in abbreviations if k in keys] + sorted(k for k in keys if k not in abbreviations)
    parts = ["%s=%s" % (abbreviations.get(k, k), format_value(params[k])) for k in ordered]
    name = escape_name(",".join([simname] + parts))
    if len(name) > max_length:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = name[: max(1, max_length - 11)] + "___" + digest
    return name


def simname(script: str, time_str: str, tag: str = "", prefix: str = "") -> str:
    base = os.path.splitext(os.path.basename(script))[0]
    return escape_name(prefix + time_str + "_" + base + ("_" + tag if tag else ""))


# --- atomic writes --------------------------------------------------------------


def write_atomic(path: str, data: str | bytes, fsync: bool = True) -> None:
    """Write to a temporary name in the same directory, fsync, rename: readers see old or new, never half.

    The temporary name is fixed (`.<name>.tmp`): every file here has a single writer.
    """
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    try:
        with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def make_output_directory(path: str, who: str = "") -> str:
    """Create (if needed) a directory that outputs go into; bad ones are one-line errors."""
    from .errors import SweepError

    path = os.path.abspath(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise SweepError("%scannot create output directory %s: %s" % (who, path, exc.strerror)) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SweepError("%scannot write to output directory %s" % (who, path))
    return path


def write_json_atomic(path: str, data: Any, fsync: bool = True) -> None:
    write_atomic(path, json.dumps(data, indent=1, default=str) + "\n", fsync=fsync)


def read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)

