"""Lancet's vcs_metadata: the version, last commit and diff of version-controlled directories."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import param

from .errors import SweepError


class vcs_metadata(param.ParameterizedFunction):
    """`vcs_metadata(paths)` -> {'vcs_versions', 'vcs_messages', 'vcs_diffs'}, each {abspath: text or None}.

    For Git, Subversion and Mercurial; pass the result as a launcher's `metadata` to keep it in the .info.
    """

    paths = param.List(default=[], doc="Directories inside the repositories to describe.")
    commands = param.Dict(default={
        ".git": (["git", "rev-parse", "HEAD"], ["git", "log", "--oneline", "-n", "1"], ["git", "diff"]),
        ".svn": (["svnversion"], ["svn", "log", "-l", "1", "-q"], ["svn", "diff"]),
        ".hg": (["hg", "parents", "--template", "{rev}:{node}"], ["hg", "log", "-l", "1"], ["hg", "diff"]),
    }, doc="Per marker directory: the commands printing the version, the last commit message and the diff.")

    def __call__(self, paths: Any = None, **params: Any) -> dict:
        if isinstance(paths, str):
            paths = [paths]
        p = param.ParamOverrides(self, dict(params, paths=list(paths if paths is not None else self.paths)))
        if not p.paths:
            raise SweepError("vcs_metadata: no paths to version-controlled repositories given")
        abspaths = [os.path.abspath(path) for path in p.paths]
        keys = ("vcs_versions", "vcs_messages", "vcs_diffs")
        return {key: {path: self._describe(path, i, p.commands) for path in abspaths} for i, key in enumerate(keys)}

    @staticmethod
    def _describe(path: str, which: int, commands: dict) -> str | None:
        here = path
        while True:  # the repository's marker may be in any parent directory
            for marker, cmds in commands.items():
                if os.path.isdir(os.path.join(here, marker)):
                    try:
                        out = subprocess.run(cmds[which], cwd=path, capture_output=True, text=True, timeout=60)
                    except (OSError, subprocess.TimeoutExpired):
                        return None
                    return out.stdout.strip() if out.returncode == 0 else None
            parent = os.path.dirname(here)
            if parent == here:
                return None
            here = parent
