"""Submitting a 2,000-task sweep of `true` to Slurm (the cluster of scripts/slurm-cluster.sh).

Prints the number of sbatch calls and the submission wall time (targets: at most
ceil(2000 / MaxArraySize) calls, under 5 s), then the time until every task is
done, against the same 2,000 tasks under the local launcher, measured in the same
run; and the same sweep with tasks_per_job=50 (50 tasks per array element).
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


def on_slurm(d, name, **options):
    space = sweep.Range("i", 0, N - 1, steps=N, integer=True)
    t0 = time.perf_counter()
    outcome = sweep.SlurmLauncher(name, space, sweep.ShellCommand("true"), output_directory=os.path.join(d, name),
                                  quiet=True, **options)()
    t_submit = time.perf_counter() - t0
    jobs = load_jobs(outcome.root)
    done = wait_for(statemod.load_root(outcome.root), [j["job_id"] for j in jobs], {"quiet": True}, N)
    return t_submit, len(jobs), time.perf_counter() - t0, done.done


def main():
    cap = max_array_size()
    with tempfile.TemporaryDirectory() as d:
        t_submit, calls, t_slurm, done = on_slurm(d, "one_per_job")
        print("%d tasks, MaxArraySize %d: %d sbatch calls (target <= %d), submitted in %.2f s (target < 5 s)"
              % (N, cap, calls, math.ceil(N / cap), t_submit))
        p_submit, p_calls, t_packed, p_done = on_slurm(d, "packed", tasks_per_job=50)
        t0 = time.perf_counter()
        local = sweep.Launcher("local", sweep.Range("i", 0, N - 1, steps=N, integer=True), sweep.ShellCommand("true"),
                               output_directory=os.path.join(d, "local"), max_concurrency=os.cpu_count(), quiet=True)()
        t_local = time.perf_counter() - t0
        print("all done, local launcher at concurrency %d (baseline): %.1f s (%d done)" % (os.cpu_count(), t_local,
                                                                                          local.done))
        print("all done, slurm, one task per array element:  %.1f s (%d done), %.1fx the local launcher"
              % (t_slurm, done, t_slurm / t_local))
        print("all done, slurm, tasks_per_job=50 (%d sbatch call(s), submitted in %.2f s): %.1f s (%d done), "
              "%.1fx the local launcher" % (p_calls, p_submit, t_packed, p_done, t_packed / t_local))


if __name__ == "__main__":
    sys.exit(main())
