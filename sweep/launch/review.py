"""Lancet's review_and_launch: show what will run, ask, then launch."""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import param

from ..args import BaseArgs
from ..errors import SweepError
from .base import BaseLauncher


def confirm(prompt: str, input_fn: Callable[[str], str] = input) -> bool:
    try:
        answer = input_fn(prompt + " [y/N]: ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def review(launcher: BaseLauncher, input_fn: Callable[[str], str] = input, ask: bool = True) -> bool:
    """Print the summaries of space, command and launcher; return whether the user wants to go on
    (True without asking when `ask` is False)."""
    print("=" * 60 + "\nParameter space\n" + "=" * 60)
    launcher.args.summary()
    print("=" * 60 + "\nCommand\n" + "=" * 60)
    launcher.command.summary()
    print("=" * 60 + "\nLauncher\n" + "=" * 60)
    launcher.summary()
    if confirm("Show the %d command lines?" % len(launcher.args), input_fn):
        launcher.command.show(launcher.args)
    return not ask or confirm("Execute?", input_fn)


class review_and_launch(param.Parameterized):
    """Decorator over a function returning Launcher(s): cross-check, review and launch them (Lancet's)."""

    output_directory = param.String(default=".", doc="Directory the launchers' roots go in.")
    review = param.Boolean(default=True, doc="Show the summaries and ask before launching.")
    launch_args = param.ClassSelector(class_=BaseArgs, default=None, allow_None=True,
                                      doc="Points to call the decorated function with, one launcher each.")
    launch_fn = param.Callable(default=None, allow_None=True, doc="The decorated function.")
    input_fn = param.Callable(default=input, doc="Where answers come from (input by default).")

    def __init__(self, output_directory: str = ".", review: bool = True, **params: Any):
        super().__init__(output_directory=output_directory, review=review, **params)

    def cross_check_launchers(self, launchers: list[BaseLauncher]) -> None:
        """Before anything is written: every command verifies, and every root is new and distinct."""
        if not launchers:
            raise SweepError("review_and_launch: the launch function returned no launcher")
        roots: list[str] = []
        for launcher in launchers:
            launcher.command.verify(launcher.args)
            root = launcher.get_root_directory()
            if os.path.exists(root):
                raise SweepError("review_and_launch: root directory already exists: %s" % root)
            if root in roots:
                raise SweepError("review_and_launch: each launcher needs its own root directory, %s is "
                                 "given twice (give them distinct batch names)" % root)
            roots.append(root)

    def __call__(self, fn: Callable | None = None) -> Any:
        if fn is not None:
            self.launch_fn = fn
            return self
        launchers: list[BaseLauncher] = []
        for kwargs in (self.launch_args.iter_specs() if self.launch_args is not None else [{}]):
            result = self.launch_fn(**kwargs)
            launchers += result if isinstance(result, (list, tuple)) else [result]
        timestamp = tuple(time.localtime())
        for launcher in launchers:  # one timestamp and one output directory for the whole launch
            launcher.timestamp = timestamp
            launcher.output_directory = self.output_directory
        self.cross_check_launchers(launchers)
        if self.review:
            if self.launch_args is not None:
                print("=" * 60 + "\nMeta arguments (one launch each)\n" + "=" * 60)
                self.launch_args.summary()
            for launcher in launchers:
                review(launcher, self.input_fn, ask=False)
            if not confirm("Execute?" if len(launchers) == 1 else "Execute all %d launches?" % len(launchers),
                           self.input_fn):
                print("Aborted: nothing launched.")
                return False
        return [launcher() for launcher in launchers]
