import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = os.path.join(REPO, "specs")


def run_sweep(*args, cwd=None, env=None, timeout=120, input=None):
    """Run the real `sweep` command in a subprocess."""
    full_env = dict(os.environ)
    full_env.pop("SWEEP_OUTPUT_DIRECTORY", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "sweep", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout, input=input)


@pytest.fixture
def sweep_cli():
    return run_sweep


def write(path, text):
    os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def listing(path):
    """Every file and directory under path, relative (to assert nothing was written)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            out.append(os.path.relpath(os.path.join(dirpath, n), path))
    return sorted(out)


@pytest.fixture(scope="session")
def example_root(tmp_path_factory):
    """The example sweep (specs/tiny.toml), run once per session; copy it before changing anything."""
    out = tmp_path_factory.mktemp("example")
    r = run_sweep("run", os.path.join(SPECS, "tiny.toml"), "--output-directory", out, "--quiet")
    assert r.returncode == 0, r.stderr
    [name] = os.listdir(out)
    return str(out / name)
