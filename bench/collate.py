"""Collating 10,000 runs (3 analysis times x 5 scalars each).

Baseline, measured in the same run: the naive way, reading each run's results
file with pandas and concatenating. Targets: under 1.5 s for 10,000 runs
(pandas import excluded), at least 5x faster than the naive way; collating an
unchanged root again is faster still (the cache inside the root).
"""

import json
import os
import sys
import tempfile
import time

import pandas as pd  # imported before any timing
import statistics

import sweep.args  # noqa: F401  (param, imported once per process, outside the timings)
import sweep.launch.state  # noqa: F401

from sweep import layout
from sweep.collation import collate

N_RUNS, TIMES, SCALARS = 10_000, (100, 200, 300), ("a", "b", "c", "d", "e")


def build_root(parent):
    """A sweep root as the local launcher leaves it, without running 10,000 processes."""
    batch = "bench"
    root = os.path.join(parent, "2026-12-04_1930-" + batch)
    os.makedirs(layout.records_dir(root))
    os.makedirs(layout.streams_dir(root))
    specs = [{"x": i // 100, "seed": i % 100} for i in range(N_RUNS)]
    with open(layout.log_path(root, batch), "w") as log, open(layout.tasks_file(root), "w") as tasks:
        for tid, spec in enumerate(specs):
            run_dir = layout.run_dir_name("model.py", spec, time_str="202612041930", tag="tid%d" % tid)
            log.write("%d %s\n" % (tid, json.dumps(spec)))
            tasks.write(json.dumps({"tid": tid, "argv": ["model"], "run_dir": run_dir}) + "\n")
            d = os.path.join(root, run_dir)
            os.mkdir(d)
            with open(layout.results_path(d), "w") as f:
                for t in TIMES:
                    f.write(json.dumps(dict({"time": t}, **{k: tid * 0.5 + t + j for j, k in enumerate(SCALARS)}))
                            + "\n")
            with open(layout.run_record_path(d), "w") as f:
                json.dump({"status": "done", "tid": tid, "attempt": 0}, f)
            with open(layout.record_path(root, tid, 0), "w") as f:
                json.dump({"tid": tid, "attempt": 0, "state": "done", "duration": 1.0, "run_dir": run_dir,
                           "stdout": "streams/x.o.%d" % tid, "stderr": "streams/x.e.%d" % tid}, f)
    with open(layout.info_path(root, batch), "w") as f:
        json.dump({"batch_name": batch, "varying_keys": ["x", "seed"], "constant_keys": []}, f)
    return root, specs


def naive(root, specs):
    """Read each results file with pandas, add the parameters, concatenate."""
    frames = []
    tasks = [json.loads(l) for l in open(layout.tasks_file(root))]
    for entry, spec in zip(tasks, specs):
        df = pd.read_json(layout.results_path(os.path.join(root, entry["run_dir"])), lines=True)
        for k, v in spec.items():
            df[k] = v
        df["tid"] = entry["tid"]
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def main():
    with tempfile.TemporaryDirectory() as d:
        t_build, (root, specs) = timed(build_root, d)
        print("built %d run directories in %.1f s" % (N_RUNS, t_build))
        colds = [timed(collate, root, use_cache=False) for _ in range(3)]
        t_cold, df = statistics.median(t for t, _ in colds), colds[0][1]
        t_first, _ = timed(collate, root)  # writes the cache
        t_warm, df2 = timed(collate, root)
        t_naive, ref = timed(naive, root, specs)
        assert len(df) == len(ref) == N_RUNS * len(TIMES) and df.equals(df2)
        assert (df["a"].to_numpy() == ref["a"].to_numpy()).all()
        print("collate, no cache:        %.2f s  (%d rows; median of 3)" % (t_cold, len(df)))
        print("collate, writing cache:   %.2f s" % t_first)
        print("collate, unchanged root:  %.2f s  (%.1fx faster than no cache)" % (t_warm, t_cold / t_warm))
        print("naive pandas baseline:    %.2f s" % t_naive)
        print("ratio naive / collate:    %.1fx (target >= 5x); under 1.5 s: %s" % (t_naive / t_cold, t_cold < 1.5))


if __name__ == "__main__":
    sys.exit(main())
