"""sweep: a parameter-sweep launcher in the Lancet style.

`import sweep as lancet` runs code written for Lancet 0.9. Names are loaded
on first use, so a task that only needs `global_params` never imports pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "args": ["Args", "Range", "List", "Log", "FilePattern", "Concatenate", "CartesianProduct",
             "Identity", "Zip", "identityfn", "BaseArgs", "Arguments", "fp_repr", "set_fp_precision"],
    "batch": ["run_batch", "save", "run_dir", "DEFAULT_TIMES"],
    "commands": ["Command", "ShellCommand", "RunBatchCommand"],
    "launch.local": ["Launcher"],
    "launch.review": ["review_and_launch"],
    "launch.slurm": ["SlurmLauncher"],
    "launch.resume": ["status", "resume"],
    "collation": ["collate", "Output", "load_arrays"],
    "filetypes": ["FileInfo", "FileType", "FileOption", "JSONFile", "NumpyFile", "CustomFile"],
    "archives": ["archive", "verify", "reproduce", "compare"],
    "specfile": ["load_spec", "Sweep"],
    "errors": ["SweepError", "SpecError"],
    "vcs": ["vcs_metadata"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
# Lancet names sweep does not carry, and what to use instead
_NOT_CARRIED = {
    "QLauncher": "Grid Engine is not supported; use sweep.SlurmLauncher (or sweep.Launcher to run locally)",
    "ScriptLauncher": "use sweep.SlurmLauncher's setup and sbatch_args options, or sweep.Launcher",
    "ImageFile": "use sweep.CustomFile with your own image reader",
    "ViewFile": "use sweep.CustomFile with your own reader",
    "DynamicArgs": "dynamic (feedback-driven) specifiers are not supported",
    "SimpleGradientDescent": "dynamic (feedback-driven) specifiers are not supported",
}

__all__ = sorted(_WHERE) + ["global_params"]


def __getattr__(name: str) -> Any:
    if name == "global_params":  # a fresh object per run: never cache it here
        return importlib.import_module(".batch", __name__).global_params
    module = _WHERE.get(name)
    if module is None:
        if name in _NOT_CARRIED:
            raise AttributeError("sweep has no Lancet %s: %s" % (name, _NOT_CARRIED[name]))
        raise AttributeError("module 'sweep' has no attribute %r" % name)
    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
