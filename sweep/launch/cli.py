"""The CLI side of `sweep run`, `sweep status` and `sweep resume`."""

from __future__ import annotations

import argparse
import os

from .. import layout
from ..errors import SweepError
from . import state as statemod
from .base import report

SETTING_KEYS = ("max_concurrency", "retries", "fail_fast", "timeout", "quiet")


def _cli_settings(ns: argparse.Namespace) -> dict:
    return {k: getattr(ns, k) for k in SETTING_KEYS if getattr(ns, k, None) not in (None, False)}


def run_spec(ns: argparse.Namespace) -> int:
    from ..batch import parse_assignments
    from ..specfile import load_spec

    sweep = load_spec(ns.spec, parse_assignments(ns.params))
    if sweep.command is None:
        raise SweepError("%s: no [run] section: say what each point runs (run.script or run.command)" % ns.spec)
    settings = dict(sweep.launcher)
    kind = ns.launcher or settings.pop("kind", "local")
    settings.pop("kind", None)
    slurm_options = settings.pop("slurm", {})
    settings.update(_cli_settings(ns))
    if kind not in ("local", "slurm"):
        raise SweepError("%s: launcher.kind: unknown launcher %r; valid: local, slurm" % (ns.spec, kind))
    output_directory = ns.output_directory or settings.pop("output_directory", None) \
        or layout.default_output_directory()
    settings.pop("output_directory", None)
    if ns.into:
        from .resume import extend

        outcome = extend(ns.into, sweep, launcher=ns.launcher, **settings)
        report(outcome, collate=not outcome.submitted)
        return outcome.exit_status
    if kind == "slurm":
        from .slurm import SlurmLauncher as cls

        settings.update(slurm_options)
        settings["wait"] = ns.wait
    else:
        from .local import Launcher as cls
    launcher = cls(sweep.name, sweep.space, sweep.command, output_directory=output_directory,
                   tag=ns.tag if ns.tag is not None else sweep.tag,
                   description=ns.description if ns.description is not None else sweep.description,
                   spec_path=sweep.path, **settings)
    if ns.dry_run:
        sweep.space.summary()
        launcher.command.verify(sweep.space)
        sweep.command.show(sweep.space)
        return 0
    if ns.review:
        from .review import review

        launcher._check()
        if not review(launcher):
            print("Aborted: nothing launched.")
            return 1
    outcome = launcher()
    if outcome.submitted:
        print("Submitted %s: follow it with `sweep status %s`" % (sweep.name, os.path.relpath(outcome.root)))
        return 0
    report(outcome)
    return outcome.exit_status


def show_status(root: str) -> int:
    from .resume import status

    st = status(root)
    tasks = st["tasks"]
    print("sweep %s (%s): %d task(s)" % (st["batch_name"], root, len(tasks)))
    print("  " + ", ".join("%s %d" % (s, n) for s, n in st["counts"].items()))
    if st["failed"]:
        r = statemod.load_root(root)
        print("Not completed after running: %s" % ", ".join(map(str, st["failed"])))
        for ts in tasks:
            if ts.tid in st["failed"]:
                print("\n".join(statemod.describe_failure(r, ts)))
    return 0


def resume_root(ns: argparse.Namespace) -> int:
    from .resume import resume

    settings = _cli_settings(ns)
    if ns.wait:
        settings["wait"] = True
    outcome = resume(ns.root, launcher=ns.launcher, **settings)
    if outcome.submitted:
        print("Resubmitted: follow it with `sweep status %s`" % ns.root)
        return 0
    if not (outcome.done or outcome.failed or outcome.interrupted):
        print("Nothing to resume: every task of %s is done." % ns.root)
        return 0
    report(outcome)
    return outcome.exit_status
