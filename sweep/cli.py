"""The `sweep` command. Imports each subcommand's machinery only when it runs."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import Sequence

from .errors import SweepError


def _spec_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC", help="spec file: .toml (data only) or .py (your own code)")


def _params_arg(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("-p", dest="params", metavar="NAME=VALUE", action="append", default=[], help=help)


def _add_launch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output-directory", metavar="DIR", help="where sweep roots are created (default: the spec's "
                   "launcher.output_directory, else $SWEEP_OUTPUT_DIRECTORY, else ./Output)")
    p.add_argument("--launcher", choices=["local", "slurm"], help="where tasks run (default: the spec's launcher.kind)")
    p.add_argument("--max-concurrency", type=int, metavar="N", help="at most N tasks at once (local launcher)")
    p.add_argument("--retries", type=int, metavar="N", help="re-run a failed task up to N times")
    p.add_argument("--fail-fast", action="store_true", default=None, help="stop launching at the first failure")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="kill a task that runs longer than this")
    p.add_argument("--wait", action="store_true", help="slurm: follow the sweep until it ends, then collate")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sweep", description="Launch parameter sweeps (Lancet style), collate and reproduce them.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    from . import __version__

    parser.add_argument("--version", action="version", version="sweep " + __version__)
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("show", help="print a spec's summary and every point",
                       description="Print the summary of a spec's space (Lancet's summary()) and every point "
                                   "(show()), or only their number.")
    _spec_arg(p)
    _params_arg(p, "fix a key to a value (a Python literal, else a string)")
    p.add_argument("--count", action="store_true", help="print only the number of points")
    p.add_argument("--commands", action="store_true", help="also print the command line of every point")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("run-batch", help="run one model script in batch mode",
                       description="Run a model script with overridden parameters in its own run directory, "
                                   "calling the analysis function at each of the given times.")
    p.add_argument("script", metavar="SCRIPT", help="the model script (.py)")
    _params_arg(p, "override a declared parameter (a Python literal, else a string)")
    p.add_argument("--times", metavar="T", help="analysis times: '50,100,200', or one number scaling the "
                   "default [0,50,100,500,1000,2000,3000,4000,5000,10000]")
    p.add_argument("--analysis", metavar="MODULE:FUNC|FILE.py:FUNC", help="analysis function (default: save the "
                   "script_repr and the script's results())")
    p.add_argument("--output-directory", metavar="DIR", help="parent of the run directory (default: "
                   "$SWEEP_OUTPUT_DIRECTORY, else ./Output)")
    p.add_argument("--tag", default="", help="added to the run directory name after the script name")
    p.add_argument("--dirname-prefix", default="", metavar="P", help="prefix of the run directory name")
    p.add_argument("--name-time-format", default="%Y%m%d%H%M", metavar="FMT", help="strftime format of the "
                   "time in the name (default %%Y%%m%%d%%H%%M)")
    p.add_argument("--name-time", metavar="TEXT", help=argparse.SUPPRESS)
    p.add_argument("--name-keys", metavar="K1,K2", help="encode only these keys in the name (default: every -p)")
    p.add_argument("--abbreviate", action="append", default=[], metavar="KEY=SHORT",
                   help="order and shorten a key in the name (repeatable)")
    p.add_argument("--max-name-length", type=int, default=200, metavar="N", help="truncate longer names, "
                   "marked with ___ and a hash (default 200)")
    p.add_argument("--snapshot", action="store_true", help="pickle what the script's snapshot() returns at the end")
    p.add_argument("--metadata-dir", metavar="D", help="put the script copy and .out file in this subdirectory")
    p.add_argument("--compress-metadata", choices=["tar.gz", "zip"], help="compress the metadata directory")
    p.add_argument("--allow-unused", action="store_true", help="accept -p names the script never declares")
    p.set_defaults(func=cmd_run_batch)

    p = sub.add_parser("run", help="launch a sweep from a spec file",
                       description="Run every point of a spec's space as one task, locally or on Slurm.")
    _spec_arg(p)
    _params_arg(p, "fix a key of the space to a value")
    _add_launch_options(p)
    p.add_argument("--dry-run", action="store_true", help="print the summary and every command; write nothing")
    p.add_argument("--review", action="store_true", help="show the summaries and ask before launching")
    p.add_argument("--tag", help="a tag recorded in the root's .info")
    p.add_argument("--description", help="a description recorded in the root's .info")
    p.add_argument("--into", metavar="ROOT", help="add the points to an existing sweep root; run only those "
                   "not completed there")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="counts by state and the failed tasks of a sweep root")
    p.add_argument("root", metavar="ROOT")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("resume", help="run the tasks of a sweep root that did not complete")
    p.add_argument("root", metavar="ROOT")
    _add_launch_options(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("cancel", help="cancel a sweep's Slurm jobs")
    p.add_argument("root", metavar="ROOT")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("collate", help="gather every run's results into one table")
    p.add_argument("roots", metavar="ROOT", nargs="+")
    p.add_argument("-o", "--output", metavar="FILE", help="write .csv, .parquet or .json instead of printing")
    p.add_argument("--times", choices=["all", "last"], default="all", help="every analysis time, or the last")
    p.set_defaults(func=cmd_collate)

    p = sub.add_parser("archive", help="pack a sweep root into one self-contained archive")
    p.add_argument("root", metavar="ROOT")
    p.add_argument("-o", "--output", metavar="FILE.tar.gz")
    p.add_argument("--no-arrays", action="store_true", help="leave saved arrays out")
    p.set_defaults(func=cmd_archive)

    p = sub.add_parser("verify", help="check every checksum of an archive")
    p.add_argument("archive", metavar="ARCHIVE")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("reproduce", help="re-run an archived sweep into a new root")
    p.add_argument("source", metavar="ARCHIVE_OR_ROOT")
    p.add_argument("--output-directory", metavar="DIR")
    p.add_argument("--launcher", choices=["local", "slurm"], default="local")
    p.add_argument("--max-concurrency", type=int, metavar="N")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("plot", help="a figure of a result against the varying keys (needs sweep[plot])",
                       description="Plot a result against a varying key (one line per --hue value, one panel per "
                                   "--col value), a heatmap over two numeric keys, or a saved array over two keys.")
    p.add_argument("root", metavar="ROOT")
    p.add_argument("--y", metavar="RESULT", help="the result to plot (with --array: the key of the rows)")
    p.add_argument("--x", metavar="KEY", help="the key on the x axis (default: the fastest-varying key)")
    p.add_argument("--hue", metavar="KEY", help="one line per value of this key")
    p.add_argument("--col", metavar="KEY", help="one panel per value of this key")
    p.add_argument("--time", default="last", metavar="T|last", help="analysis time to plot (default: the last)")
    p.add_argument("--aggregate", action="append", default=[], metavar="KEY",
                   help="average over this key (e.g. seeds), with a band for the spread")
    p.add_argument("--heatmap", action="store_true", help="a heatmap over numeric --x and --hue")
    p.add_argument("--array", metavar="NAME", help="show a saved array as a grid of images over --x and --y keys")
    p.add_argument("-o", "--output", metavar="FILE", help=".png, .svg or .pdf (default: in the root)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("report", help="one self-contained HTML page about a sweep (needs sweep[plot])")
    p.add_argument("root", metavar="ROOT")
    p.add_argument("-o", "--output", metavar="FILE.html", help="default: report.html in the root")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="compare two sweeps run by run")
    p.add_argument("a", metavar="ROOT_A")
    p.add_argument("b", metavar="ROOT_B")
    p.add_argument("--rtol", type=float, default=1e-9)
    p.add_argument("--atol", type=float, default=0.0)
    p.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return ns.func(ns) or 0
    except SweepError as exc:
        if ns.debug:
            raise
        print("sweep: %s" % exc, file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("sweep: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `sweep show ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


# --- subcommands ------------------------------------------------------------------


def _overrides(items: list[str]) -> dict:
    from .batch import parse_assignments

    return parse_assignments(items)


def cmd_show(ns: argparse.Namespace) -> int:
    from .specfile import load_spec

    sweep = load_spec(ns.spec, _overrides(ns.params))
    if ns.count:
        print(len(sweep.space))
        return 0
    sweep.space.summary()
    sweep.space.show()
    if ns.commands and sweep.command is not None:
        sweep.command.show(sweep.space)
    return 0


def cmd_run_batch(ns: argparse.Namespace) -> int:
    from .batch import ScriptError, parse_assignments, parse_value, run_batch

    params = parse_assignments(ns.params)
    times = None
    if ns.times is not None:
        values = [parse_value(t) for t in ns.times.split(",") if t.strip()]
        if not values or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            raise SweepError("--times %s: expected numbers like 50,100,200 or one scale factor" % ns.times)
        times = values[0] if len(values) == 1 and "," not in ns.times else values
    abbreviations = parse_assignments(ns.abbreviate, "--abbreviate")
    name_keys = None if ns.name_keys is None else [k for k in ns.name_keys.split(",") if k]
    command_line = " ".join(shlex.quote(a) for a in ["sweep"] + sys.argv[1:]) if sys.argv[1:2] == ["run-batch"] \
        else None
    try:
        rdir = run_batch(ns.script, times, ns.analysis, output_directory=ns.output_directory, tag=ns.tag,
                         dirname_prefix=ns.dirname_prefix, name_time_format=ns.name_time_format,
                         name_time=ns.name_time, max_name_length=ns.max_name_length, snapshot=ns.snapshot,
                         metadata_dir=ns.metadata_dir, compress_metadata=ns.compress_metadata,
                         allow_unused=ns.allow_unused, name_keys=name_keys,
                         abbreviations={k: str(v) for k, v in abbreviations.items()},
                         command_line=command_line, **params)
    except ScriptError as exc:  # the script's own exit status, 143 after SIGTERM, 130 after SIGINT
        print("sweep: %s" % exc, file=sys.stderr)
        return exc.exit_code or 1
    print(rdir)
    return 0


def cmd_run(ns: argparse.Namespace) -> int:
    from .launch.cli import run_spec

    return run_spec(ns)


def cmd_status(ns: argparse.Namespace) -> int:
    from .launch.cli import show_status

    return show_status(ns.root)


def cmd_resume(ns: argparse.Namespace) -> int:
    from .launch.cli import resume_root

    return resume_root(ns)


def cmd_cancel(ns: argparse.Namespace) -> int:
    from .launch.slurm import cancel

    return cancel(ns.root)


def cmd_collate(ns: argparse.Namespace) -> int:
    from .collation import collate_cli

    return collate_cli(ns.roots, ns.output, ns.times)


def cmd_archive(ns: argparse.Namespace) -> int:
    from .archives import archive

    path = archive(ns.root, ns.output, arrays=not ns.no_arrays)
    print(path)
    return 0


def cmd_verify(ns: argparse.Namespace) -> int:
    from .archives import verify_cli

    return verify_cli(ns.archive)


def cmd_reproduce(ns: argparse.Namespace) -> int:
    from .archives import reproduce_cli

    return reproduce_cli(ns)


def cmd_plot(ns: argparse.Namespace) -> int:
    from .plot import plot_cli

    return plot_cli(ns)


def cmd_report(ns: argparse.Namespace) -> int:
    from .plot import report_cli

    return report_cli(ns)


def cmd_compare(ns: argparse.Namespace) -> int:
    from .archives import compare_cli

    return compare_cli(ns.a, ns.b, rtol=ns.rtol, atol=ns.atol)


if __name__ == "__main__":
    raise SystemExit(main())
