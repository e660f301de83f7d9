"""Spec files and `sweep show`: the exact line a user sees for each bad input."""
import os

import pytest

from conftest import SPECS, listing, run_sweep, write

ALLOWED = "use Args, Range, List, Log, FilePattern, Zip, Identity, literals, +, * and unary minus"


def show_error(tmp_path, text, name="bad.toml"):
    write(tmp_path / name, text)
    before = listing(tmp_path)
    r = run_sweep("show", name, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    assert listing(tmp_path) == before  # nothing written
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_show_prints_summary_then_every_point(tmp_path):
    r = run_sweep("show", os.path.join(SPECS, "tiny.toml"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["Items: 12", "Varying Keys: 'cortex_density', 'learning_rate', 'seed'",
                         "Constant Items: retina_density=12"]
    assert lines[3] == "0: retina_density=12, cortex_density=8, learning_rate=0.05, seed=1"
    assert len(lines) == 3 + 12
    count = run_sweep("show", os.path.join(SPECS, "tiny.toml"), "--count")
    assert count.stdout == "12\n"


def test_show_with_override_and_commands():
    r = run_sweep("show", os.path.join(SPECS, "tiny.toml"), "-p", "seed=7", "--count")
    assert r.stdout == "6\n"
    r = run_sweep("show", os.path.join(SPECS, "tiny.toml"), "--commands")
    assert "run-batch" in r.stdout and "-p 'seed=1'" not in r.stdout


def test_help_explains_options():
    r = run_sweep("--help")
    assert r.returncode == 0 and "show" in r.stdout and "run-batch" in r.stdout
    r = run_sweep("show", "--help")
    assert "--count" in r.stdout and "SPEC" in r.stdout


def test_malformed_toml(tmp_path):
    line = show_error(tmp_path, 'name = "x"\n[space]\nexpr = "List(\'a\', [1])"\nbad line here\n')
    assert line == "sweep: bad.toml: line 4, column 5: invalid TOML: Expected '=' after a key in a key/value pair"


def test_disallowed_construct_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    line = show_error(tmp_path, '[space]\nexpr = "List(\'a\', [1]) * __import__(\'os\').system(\'touch %s\')"\n'
                      % marker)
    assert line == ("sweep: bad.toml: space.expr: column 18: call of \"__import__('os').system\" is not allowed; "
                    + ALLOWED)
    assert not marker.exists()


@pytest.mark.parametrize("expr,what", [
    ("(lambda: 1)()", "call of 'lambda: 1'"),
    ("List('a', [1]).specs", "attribute access \"List('a', [1]).specs\""),
    ("List('a', open('/etc/passwd'))", "call of 'open'"),
    ("List('a', [x for x in [1]])", "construct '[x for x in [1]]'"),
])
def test_other_disallowed_constructs(tmp_path, expr, what):
    line = show_error(tmp_path, '[space]\nexpr = "%s"\n' % expr.replace('"', '\\"'))
    assert line.startswith("sweep: bad.toml: space.expr: column ")
    assert (what + " is not allowed; " + ALLOWED) in line


def test_overlapping_keys(tmp_path):
    line = show_error(tmp_path, '[space]\nexpr = "List(\'a\', [1]) * Args(a=2)"\n')
    assert line == "sweep: bad.toml: space.expr: column 1: keys cannot overlap in a cartesian product: 'a' on both sides of *"


def test_steps_below_one(tmp_path):
    line = show_error(tmp_path, '[space]\nexpr = "Range(\'a\', 0, 1, steps=0)"\n')
    assert line == "sweep: bad.toml: space.expr: column 1: Range('a'): steps must be an integer >= 1, got 0"


def test_non_numeric_range_bounds(tmp_path):
    line = show_error(tmp_path, '[space]\nexpr = "Range(\'a\', \'lo\', 1)"\n')
    assert line == "sweep: bad.toml: space.expr: column 1: Range('a'): start_value must be a number, got 'lo'"


def test_unknown_key(tmp_path):
    line = show_error(tmp_path, '[space]\nexpr = "List(\'a\', [1])"\n[lanucher]\nkind = "local"\n')
    assert line == ("sweep: bad.toml: unknown key 'lanucher'; did you mean 'launcher'? "
                    "valid keys: name, description, tag, space, run, launcher")
    line = show_error(tmp_path, '[space]\nexpr = "List(\'a\', [1])"\n[run]\nscirpt = "x.py"\n')
    assert line.startswith("sweep: bad.toml: unknown key 'run.scirpt'; did you mean 'script'? valid keys: script,")


def test_empty_space(tmp_path):
    line = show_error(tmp_path, '[space]\nexpr = "List(\'a\', [])"\n')
    assert line == "sweep: bad.toml: space: the space is empty (it gives no points)"
    line = show_error(tmp_path, 'name = "x"\n')
    assert line == "sweep: bad.toml: space: the space is empty; give space.expr or space.constants"


def test_zip_of_unequal_lengths(tmp_path):
    line = show_error(tmp_path, '[space]\nexpr = "Zip(List(\'a\', [1, 2]), List(\'b\', [1]))"\n')
    assert line == ("sweep: bad.toml: space.expr: column 1: Zip: linked specifiers must have the same length: "
                    "List(key='a',values=[1, 2]) has 2, List(key='b',values=[1]) has 1")


def test_missing_spec_file(tmp_path):
    r = run_sweep("show", "nope.toml", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == "sweep: nope.toml: no such spec file\n"


def test_debug_shows_traceback(tmp_path):
    write(tmp_path / "bad.toml", '[space]\nexpr = "List(\'a\', [])"\n')
    r = run_sweep("--debug", "show", "bad.toml", cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_python_spec_file(tmp_path):
    write(tmp_path / "space.py", "import sweep as lancet\nspace = lancet.List('a', [1, 2]) * lancet.Args(b=3)\n")
    r = run_sweep("show", "space.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Items: 2", "Varying Keys: 'a'", "Constant Items: b=3", "0: b=3, a=1", "1: b=3, a=2"]


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(SPECS) if n.endswith(".toml")))
def test_every_example_spec_parses(name):
    r = run_sweep("show", os.path.join(SPECS, name), "--count")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) > 0
