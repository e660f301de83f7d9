"""Dispatch speed: 200 tasks of `python -c pass` at concurrency 2.

Through sweep's local launcher (a ShellCommand sweep with full records: log,
info, streams, per-task records), through `xargs -P2` (the floor) and through
GNU parallel when installed. Prints wall times and ratios to xargs.
Target: sweep within 1.15x of xargs.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

N, P, ROUNDS = 200, 2, 3


def via_sweep(out):
    import sweep

    space = sweep.List("i", list(range(N)))
    cmd = sweep.ShellCommand(sys.executable, args=["-c", "pass"])
    t0 = time.perf_counter()
    outcome = sweep.Launcher("dispatch", space, cmd, output_directory=out, max_concurrency=P, quiet=True)()
    elapsed = time.perf_counter() - t0
    assert outcome.done == N, outcome
    return elapsed


def via_cli(out, spec):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sweep", "run", spec, "--output-directory", out, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def via_shell(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    py = sys.executable
    with tempfile.TemporaryDirectory() as d:
        spec = os.path.join(d, "dispatch.toml")
        with open(spec, "w") as f:
            f.write('[space]\nexpr = "List(\'i\', list_placeholder)"\n'.replace("list_placeholder", str(list(range(N))))
                    + '[run]\ncommand = ["%s", "-c", "pass"]\n' % py)
        runners = [("xargs -P%d (floor)" % P, lambda i: via_shell("seq %d | xargs -P%d -I{} %s -c pass -i {}"
                                                                  % (N, P, py))),
                   ("sweep Launcher (records, streams)", lambda i: via_sweep(os.path.join(d, "a%d" % i))),
                   ("sweep run CLI (+ startup, collate)", lambda i: via_cli(os.path.join(d, "b%d" % i), spec))]
        if shutil.which("parallel"):
            runners.append(("GNU parallel -j%d" % P, lambda i: via_shell("seq %d | parallel -j%d %s -c pass -i {}"
                                                                        % (N, P, py))))
        else:
            print("GNU parallel: not installed, skipped")
        times = {name: [] for name, _ in runners}
        for i in range(ROUNDS):  # interleaved rounds, medians: load drift hits every runner alike
            for name, fn in runners:
                times[name].append(fn(i))
        med = {name: statistics.median(ts) for name, ts in times.items()}
        xargs = med[runners[0][0]]
        print("%d tasks of `python -c pass`, concurrency %d, median of %d rounds" % (N, P, ROUNDS))
        for name, _ in runners:
            print("  %-36s %6.2f s   %.2fx xargs" % (name, med[name], med[name] / xargs))
        print("target: sweep Launcher within 1.15x of xargs: %s" % (med[runners[1][0]] / xargs <= 1.15))


if __name__ == "__main__":
    main()
