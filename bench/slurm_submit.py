"""Submitting a 2,000-task sweep of `true` to Slurm (the cluster of scripts/slurm-cluster.sh).

Prints the number of sbatch calls and the submission wall time (targets: at most
ceil(2000 / MaxArraySize) calls, under 5 s), then the time until every task is
done, against the same 2,000 tasks under the local launcher, measured in the same run.
"""

import math
import os
import sys
import tempfile
import time

import sweep
from sweep.launch import state as statemod
from sweep.launch.slurm import load_jobs, max_array_size, wait_for

N = int(os.environ.get("SWEEP_BENCH_TASKS", "2000"))


def main():
    space = sweep.Range("i", 0, N - 1, steps=N, integer=True)
    cmd = sweep.ShellCommand("true")
    cap = max_array_size()
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        outcome = sweep.SlurmLauncher("bench", space, cmd, output_directory=os.path.join(d, "slurm"), quiet=True)()
        t_submit = time.perf_counter() - t0
        calls = len(load_jobs(outcome.root))
        print("%d tasks, MaxArraySize %d: %d sbatch calls (target <= %d), submitted in %.2f s (target < 5 s)"
              % (N, cap, calls, math.ceil(N / cap), t_submit))
        r = statemod.load_root(outcome.root)
        done = wait_for(r, [j["job_id"] for j in load_jobs(outcome.root)], {"quiet": True}, N)
        t_slurm = time.perf_counter() - t0
        t0 = time.perf_counter()
        local = sweep.Launcher("bench", space, cmd, output_directory=os.path.join(d, "local"),
                               max_concurrency=os.cpu_count(), quiet=True)()
        t_local = time.perf_counter() - t0
        print("all done: slurm %.1f s (%d done), local launcher at concurrency %d %.1f s (%d done); "
              "slurm / local = %.1fx" % (t_slurm, done.done, os.cpu_count(), t_local, local.done, t_slurm / t_local))


if __name__ == "__main__":
    sys.exit(main())
