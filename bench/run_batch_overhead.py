"""Per-run overhead of `sweep run-batch` over running the same trivial model script with plain python.

Baseline: `python trivial.py` (the script still imports sweep's global_params and param, as every model does).
Target: under 40 ms per run.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

SCRIPT = """import param
from sweep import global_params as p
p.add(x=param.Number(1.0, doc="a parameter"))
def results():
    return {"y": p.x * 2}
"""
N = 20


def timed(argv, cwd):
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "trivial.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        plain, batch = [], []
        for i in range(N):  # interleaved, so drift in machine load hits both alike
            plain.append(timed([sys.executable, script], d))
            batch.append(timed([sys.executable, "-m", "sweep", "run-batch", script, "-p", "x=%d" % i,
                                "--times", "0,", "--output-directory", os.path.join(d, "out")], d))
        mp, mb = statistics.median(plain), statistics.median(batch)
        print("runs: %d each" % N)
        print("plain python (baseline): median %.1f ms" % (mp * 1e3))
        print("sweep run-batch:         median %.1f ms" % (mb * 1e3))
        print("overhead per run: %.1f ms (ratio %.2fx); target < 40 ms: %s" % ((mb - mp) * 1e3, mb / mp, mb - mp < 0.04))


if __name__ == "__main__":
    main()
