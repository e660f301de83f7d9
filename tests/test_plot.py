"""sweep plot and sweep report render real files from the example sweep."""
import base64
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from sweep import layout
from conftest import run_sweep, write

matplotlib = pytest.importorskip("matplotlib")
from matplotlib import image as mpimg  # noqa: E402


@pytest.fixture
def example(example_root):
    return example_root


def png_shape(path):
    return mpimg.imread(path).shape


def test_line_plot_with_aggregated_seeds(example, tmp_path):
    out = str(tmp_path / "q.png")
    r = run_sweep("plot", example, "--y", "quantization_error", "--hue", "learning_rate", "--aggregate", "seed",
                  "-o", out)
    assert r.returncode == 0, r.stderr
    assert r.stdout == out + "\n"
    assert png_shape(out)[:2] == (420, 640)


def test_default_x_panels_heatmap_svg_pdf(example, tmp_path):
    r = run_sweep("plot", example, "--y", "topographic_error", "--col", "learning_rate", "--time", "200")
    assert r.returncode == 0, r.stderr
    assert os.path.isfile(os.path.join(example, "plot_topographic_error.png"))
    r = run_sweep("plot", example, "--y", "quantization_error", "--x", "cortex_density", "--hue", "learning_rate",
                  "--heatmap", "-o", tmp_path / "h.svg")
    assert r.returncode == 0, r.stderr
    assert open(tmp_path / "h.svg").read().lstrip().startswith("<?xml")
    r = run_sweep("plot", example, "--y", "quantization_error", "-o", tmp_path / "p.pdf")
    assert open(tmp_path / "p.pdf", "rb").read(5) == b"%PDF-"


def test_array_grid(example, tmp_path):
    out = str(tmp_path / "w.png")
    r = run_sweep("plot", example, "--array", "weight_map", "--x", "cortex_density", "--y", "learning_rate", "-o", out)
    assert r.returncode == 0, r.stderr
    h, w = png_shape(out)[:2]
    assert w > h > 300


def test_report_is_self_contained_html(example, tmp_path):
    out = str(tmp_path / "report.html")
    r = run_sweep("report", example, "-o", out)
    assert r.returncode == 0, r.stderr
    text = open(out).read()
    imgs = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                imgs.append(dict(attrs)["src"])
            for k, v in attrs:
                assert not (v or "").startswith(("http://", "https://")), v  # opens with no network

    P().feed(text)
    assert len(imgs) == 2  # one figure per scalar result
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        path = tmp_path / "x.png"
        path.write_bytes(png)
        assert png_shape(str(path))[:2] == (420, 640)
    for must in ("Sweep tiny", "Cortex density against learning rate", "[space]", "Environment", "12 done",
                 "quantization_error", "<table"):
        assert must in text, must


def bad(*args):
    r = run_sweep("plot", *args)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    return r.stderr.strip()


def test_bad_input_messages(example, tmp_path):
    assert bad(example, "--y", "nope") == ("sweep: plot: no result 'nope'; results: quantization_error, "
                                            "topographic_error")
    assert bad(example, "--y", "quantization_error", "--x", "nope") == (
        "sweep: plot: --x: no parameter 'nope'; parameters: cortex_density, learning_rate, seed, retina_density")
    assert bad(example, "--array", "nope", "--x", "seed", "--y", "learning_rate") == (
        "sweep: plot: no array 'nope'; arrays: weight_map")
    assert bad(example, "--y", "quantization_error", "--time", "7") == (
        "sweep: plot: --time 7: no results at that time; times: 0, 100, 200, 400")


def test_non_numeric_result_empty_sweep_and_only_failures(tmp_path):
    write(tmp_path / "t.py", "import json, sys\nx = int(sys.argv[2])\nif x > 5: sys.exit(1)\n"
                             "print(json.dumps({'label': 'run%d' % x, 'v': x}))\n")
    write(tmp_path / "ok.toml", '[space]\nexpr = "List(\'x\', [1, 2])"\n[run]\ncommand = ["%s", "t.py"]\n'
          % sys.executable)
    write(tmp_path / "fail.toml", '[space]\nexpr = "List(\'x\', [7, 8])"\n[run]\ncommand = ["%s", "t.py"]\n'
          % sys.executable)
    run_sweep("run", "ok.toml", "--output-directory", "ok", "--quiet", cwd=tmp_path)
    run_sweep("run", "fail.toml", "--output-directory", "fail", "--quiet", cwd=tmp_path)
    ok = os.path.join(tmp_path, "ok", os.listdir(tmp_path / "ok")[0])
    fail = os.path.join(tmp_path, "fail", os.listdir(tmp_path / "fail")[0])
    assert bad(ok, "--y", "label") == "sweep: plot: result 'label' is not numeric (str); numeric results: v"
    assert bad(fail, "--y", "v") == "sweep: plot: %s: no run finished (2 failed); nothing to plot" % fail
    empty = os.path.join(tmp_path, "empty")
    shutil.copytree(ok, empty)
    name = layout.find_batch_name(empty)
    open(layout.log_path(empty, name), "w").close()
    assert bad(empty, "--y", "v") == "sweep: plot: %s: the sweep is empty (no runs in its log)" % empty


def test_without_matplotlib_one_line_says_which_extra(example):
    code = ("import sys; sys.modules['matplotlib'] = None\nfrom sweep.cli import main\n"
            "raise SystemExit(main(['plot', %r, '--y', 'quantization_error']))" % example)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == "sweep: plotting needs matplotlib: pip install 'sweep[plot]'\n"
