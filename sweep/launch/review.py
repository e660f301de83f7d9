"""Lancet's review_and_launch: show what will run, ask, then launch."""

from __future__ import annotations

import os
from typing import Any, Callable

import param

from ..errors import SweepError
from .base import BaseLauncher


def confirm(prompt: str, input_fn: Callable[[str], str] = input) -> bool:
    try:
        answer = input_fn(prompt + " [y/N]: ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def review(launcher: BaseLauncher, input_fn: Callable[[str], str] = input) -> bool:
    """Print the summaries of space, command and launcher; return whether the user wants to go on."""
    print("=" * 60 + "\nParameter space\n" + "=" * 60)
    launcher.args.summary()
    print("=" * 60 + "\nCommand\n" + "=" * 60)
    launcher.command.summary()
    print("=" * 60 + "\nLauncher\n" + "=" * 60)
    launcher.summary()
    if confirm("Show the %d command lines?" % len(launcher.args), input_fn):
        launcher.command.show(launcher.args)
    return confirm("Execute?", input_fn)


class review_and_launch(param.Parameterized):
    """Decorator over a function returning Launcher(s): cross-check, review and launch them (Lancet's)."""

    output_directory = param.String(default=".", doc="Directory the launchers' roots go in.")
    review = param.Boolean(default=True, doc="Show the summaries and ask before launching.")
    launch_fn = param.Callable(default=None, allow_None=True, doc="The decorated function.")
    input_fn = param.Callable(default=input, doc="Where answers come from (input by default).")

    def __init__(self, output_directory: str = ".", review: bool = True, **params: Any):
        super().__init__(output_directory=output_directory, review=review, **params)

    def cross_check_launchers(self, launchers: list[BaseLauncher]) -> None:
        """Refuse duplicate batch names and roots that already exist."""
        names = [l.batch_name for l in launchers]
        if len(set(names)) != len(names):
            raise SweepError("review_and_launch: each launcher needs its own batch name, got %s" % names)
        for l in launchers:
            l.output_directory = self.output_directory
            import time

            stamp = time.strftime(l.timestamp_format, tuple(l.timestamp))
            root = os.path.join(self.output_directory, "%s-%s" % (stamp, l.batch_name))
            if os.path.exists(root):
                raise SweepError("review_and_launch: root directory already exists: %s" % root)

    def __call__(self, fn: Callable | None = None) -> Any:
        if fn is not None:
            self.launch_fn = fn
            return self
        result = self.launch_fn()
        launchers = result if isinstance(result, (list, tuple)) else [result]
        self.cross_check_launchers(launchers)
        if self.review:
            for l in launchers:
                if not review(l, self.input_fn):
                    print("Aborted: nothing launched.")
                    return False
        return [l() for l in launchers]
