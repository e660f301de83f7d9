"""Expanding a 100 x 100 x 100 space: sweep's lazy algebra against an eager list of dicts (Lancet's way).

Prints the time to answer len / varying_keys / the first 10 points, the full
iteration rate and the peak traced memory of both, with ratios.
Targets: first points within 50 ms, >= 1,000,000 points/s, < 50 MB on the lazy path.
"""

import itertools
import time
import tracemalloc

import sweep


def lazy():
    t0 = time.perf_counter()
    space = sweep.Range("a", 0, 1, steps=100) * sweep.Range("b", 0, 1, steps=100) * sweep.Range("c", 0, 1, steps=100)
    n, keys = len(space), space.varying_keys
    first = list(itertools.islice(space.iter_specs(), 10))
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    count = sum(1 for _ in space.iter_specs())
    t_iter = time.perf_counter() - t0
    assert n == count == 1_000_000 and keys == ["a", "b", "c"] and len(first) == 10
    return t_first, count / t_iter


def eager():
    """Lancet 0.9 builds the list of every spec dict before it can answer anything."""
    t0 = time.perf_counter()
    axes = [[{k: round(i / 99, 4)} for i in range(100)] for k in "abc"]
    specs = [dict(a, **b, **c) for a, b, c in itertools.product(*axes)]
    n = len(specs)
    cols = {k: [s[k] for s in specs] for k in "abc"}  # Lancet's _collect_by_key for varying_keys
    keys = sorted(cols)
    first = specs[:10]
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    count = sum(1 for _ in specs)
    t_iter = time.perf_counter() - t0
    assert n == count == 1_000_000 and keys == ["a", "b", "c"] and len(first) == 10
    return t_first, count / (t_first + t_iter)  # its points are only available after the build


def measure(fn):
    """Times from an untraced run (tracemalloc slows allocation), peak memory from a traced one."""
    t_first, rate = fn()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return t_first, rate, peak / 2 ** 20


def main():
    sweep.Range  # import the package outside the timings
    lz, eg = measure(lazy), measure(eager)
    print("100 x 100 x 100 = 1,000,000 points")
    print("%-32s %12s %14s %12s" % ("", "first 10 (ms)", "points/s", "peak (MB)"))
    print("%-32s %12.2f %14.0f %12.1f" % ("sweep (lazy)", lz[0] * 1e3, lz[1], lz[2]))
    print("%-32s %12.2f %14.0f %12.1f" % ("eager list of dicts (Lancet)", eg[0] * 1e3, eg[1], eg[2]))
    print("ratios eager/lazy: first points %.0fx slower, peak memory %.0fx larger; points/s lazy/eager %.2f"
          % (eg[0] / lz[0], eg[2] / lz[2], lz[1] / eg[1]))
    print("targets: first points < 50 ms: %s; >= 1e6 pt/s: %s; memory < 50 MB: %s"
          % (lz[0] < 0.05, lz[1] >= 1e6, lz[2] < 50))


if __name__ == "__main__":
    main()
