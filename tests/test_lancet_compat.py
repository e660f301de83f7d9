"""Code written for Lancet runs with `import sweep as lancet` (the Lancet tutorial's first example)."""
import os
import shutil

import pytest

import sweep as lancet


@pytest.mark.skipif(shutil.which("factor") is None, reason="coreutils' factor not installed")
def test_lancet_tutorial_prime_quintuplet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    example_name = "prime_quintuplet"
    integers = lancet.Range("integer", 100, 115, steps=16, fp_precision=0)
    factor_cmd = lancet.ShellCommand(executable="factor", posargs=["integer"])
    lancet.Launcher(example_name, integers, factor_cmd, output_directory="output", quiet=True)()

    output_files = lancet.FilePattern("filename", "./output/*-prime_quintuplet*/streams/*.o*")
    assert len(output_files) == 16
    assert all(os.path.isabs(s["filename"]) for s in output_files.specs)
    lines = sorted(open(s["filename"]).read().strip() for s in output_files.specs)
    assert "101: 101" in lines and "103: 103" in lines and "100: 2 2 5 5" in lines

    log = lancet.Log([os.path.join(root, f) for root, _, fs in os.walk("output") for f in fs
                      if f.endswith(".log")][0])
    assert [s["integer"] for s in log.specs] == list(range(100, 116))
    assert log.varying_keys == ["integer", "tid"]
    [launch] = lancet.Output("output")
    assert launch.tids == list(range(16)) and launch.specs[1] == {"integer": 101}
    assert open(launch.stdout[3]).read().strip() == "103: 103"


def test_lancet_names_sweep_does_not_carry_say_what_to_use():
    import sweep as lancet

    with pytest.raises(AttributeError) as e:
        lancet.QLauncher
    assert str(e.value) == ("sweep has no Lancet QLauncher: Grid Engine is not supported; use sweep.SlurmLauncher "
                            "(or sweep.Launcher to run locally)")
    with pytest.raises(AttributeError) as e:
        lancet.NoSuchThing
    assert str(e.value) == "module 'sweep' has no attribute 'NoSuchThing'"


def test_vcs_metadata_describes_a_git_repository(tmp_path):
    import subprocess

    env = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@b", GIT_COMMITTER_NAME="a",
               GIT_COMMITTER_EMAIL="a@b")
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / "model.py").write_text("x = 1\n")
    for cmd in (["init", "-q"], ["add", "model.py"], ["commit", "-q", "-m", "first model"]):
        subprocess.run(["git", *cmd], cwd=repo, env=env, check=True)
    (repo / "model.py").write_text("x = 2\n")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    plain = tmp_path / "plain"
    plain.mkdir()
    meta = lancet.vcs_metadata([str(repo / "sub"), str(plain)])
    sub = str(repo / "sub")
    assert meta["vcs_versions"] == {sub: head, str(plain): None}
    assert meta["vcs_messages"][sub].endswith(" first model")
    assert "-x = 1\n+x = 2" in meta["vcs_diffs"][sub]
    with pytest.raises(lancet.SweepError) as e:
        lancet.vcs_metadata([])
    assert str(e.value) == "vcs_metadata: no paths to version-controlled repositories given"


def test_set_fp_precision_and_the_base_class_name():
    try:
        lancet.set_fp_precision(2)
        assert lancet.Args(a=1.23456).specs == [{"a": 1.23}]
        assert repr(lancet.Args(a=1.5)) == "Args(fp_precision=2,a=1.5)"
    finally:
        lancet.set_fp_precision(4)
    assert lancet.Args(a=1.23456).specs == [{"a": 1.2346}]
    assert isinstance(lancet.List("a", [1]) * lancet.Range("b", 0, 1), lancet.Arguments)
    assert [lancet.fp_repr(v) for v in (0.5, "a", 3)] == ["0.5", "'a'", "3"]


def test_the_info_records_the_launcher_as_a_call_that_rebuilds_it(tmp_path):
    import json

    args = lancet.List("x", [1, 2]) * lancet.Args(y=0.5)
    cmd = lancet.ShellCommand("echo", posargs=["x"], expansions={"f": lancet.ShellCommand.LongFilename(".txt")})
    outcome = lancet.Launcher("demo", args, cmd, output_directory=str(tmp_path), max_concurrency=1, quiet=True)()
    text = json.load(open(os.path.join(outcome.root, "demo.info")))["launcher"]
    assert text.startswith("Launcher(batch_name='demo',args=List(key='x',values=[1, 2],fp_precision=4) * "
                           "Args(fp_precision=4,y=0.5),command=ShellCommand(executable='echo',posargs=['x'],"
                           "long_prefix='--',expansions={'f': ShellCommand.LongFilename('.txt')}),description='',")
    rebuilt = eval(text, {k: getattr(lancet, k) for k in lancet.__all__})
    assert rebuilt.args.specs == args.specs and rebuilt.max_concurrency == 1
    info = {"root_directory": "/r", "batch_name": "demo", "varying_keys": ["x"]}
    assert rebuilt.command({"x": 1, "y": 0.5}, 0, info) == cmd({"x": 1, "y": 0.5}, 0, info)
