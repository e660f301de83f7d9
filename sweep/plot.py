"""Figures from a sweep: `sweep plot` (lines, heatmaps, array grids) and `sweep report` (one HTML page).

matplotlib is an optional extra: `pip install 'sweep[plot]'`.
"""

from __future__ import annotations

import base64
import html
import io
import os
import time
from typing import Any

from . import layout
from .errors import SweepError

FIGSIZE, DPI = (6.4, 4.2), 100


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise SweepError("plotting needs matplotlib: pip install 'sweep[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class SweepTable:
    """The collated table of one root, with what plotting needs to know about its columns."""

    def __init__(self, root: str):
        import warnings

        from .collation import array_columns, collate
        from .launch.state import load_root

        self.root = load_root(root)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.all = collate(self.root.path)
        self.params = list(dict.fromkeys(k for s in self.root.specs.values() for k in s))
        self.varying = [k for k in self.root.info.get("varying_keys", []) if k in self.params]
        if not self.root.specs:
            raise SweepError("plot: %s: the sweep is empty (no runs in its log)" % root)
        self.df = self.all[self.all["_status"] == "done"]
        if self.df.empty:
            states = ", ".join("%d %s" % (n, s) for s, n in self.all.groupby("_status")["_tid"].nunique().items())
            raise SweepError("plot: %s: no run finished (%s); nothing to plot" % (root, states))
        self.arrays = array_columns(self.df)
        self.results = [c for c in self.df.columns if not c.startswith("_") and c not in self.params
                        and c not in self.arrays]

    def numeric_results(self) -> list[str]:
        import pandas as pd

        return [c for c in self.results if pd.api.types.is_numeric_dtype(self.df[c])]

    def check_result(self, name: str) -> None:
        import pandas as pd

        if name not in self.results:
            raise SweepError("plot: no result %r; results: %s" % (name, ", ".join(self.results) or "none"))
        if not pd.api.types.is_numeric_dtype(self.df[name]):
            raise SweepError("plot: result %r is not numeric (%s); numeric results: %s"
                             % (name, self.df[name].dtype, ", ".join(self.numeric_results()) or "none"))

    def check_key(self, option: str, key: str | None) -> None:
        if key is not None and key not in self.params:
            raise SweepError("plot: %s: no parameter %r; parameters: %s" % (option, key, ", ".join(self.params)))

    def at_time(self, when: str | float) -> Any:
        df = self.df
        if when in (None, "last"):
            t = df["_time"].fillna(float("-inf"))
            return df[t == t.groupby(df["_tid"]).transform("max")]
        value = float(when)
        rows = df[df["_time"] == value]
        if rows.empty:
            raise SweepError("plot: --time %s: no results at that time; times: %s"
                             % (when, ", ".join("%g" % t for t in sorted(df["_time"].dropna().unique()))))
        return rows


def _default_x(table: SweepTable, taken: set) -> str:
    for key in reversed(table.varying):  # the fastest-varying key
        if key not in taken:
            return key
    raise SweepError("plot: no varying parameter left for --x (varying: %s)" % (", ".join(table.varying) or "none"))


def line_figure(table: SweepTable, y: str, x: str | None = None, hue: str | None = None, col: str | None = None,
                when: str | float = "last", aggregate: list[str] | None = None, heatmap: bool = False) -> Any:
    """A line plot of `y` against `x` (one line per hue, one panel per col), or a heatmap over x and hue."""
    plt = _matplotlib()
    table.check_result(y)
    for option, key in (("--x", x), ("--hue", hue), ("--col", col)):
        table.check_key(option, key)
    for key in aggregate or []:
        table.check_key("--aggregate", key)
    x = x or _default_x(table, {hue, col, *(aggregate or [])})
    df = table.at_time(when)
    groups = [k for k in (col, hue, x) if k]
    stats = df.groupby(groups, dropna=False)[y].agg(["mean", "std", "count"]).reset_index()
    label = y + ("" if when in (None, "last") else " at time %s" % when)
    if heatmap:
        import pandas as pd

        if not hue or not all(pd.api.types.is_numeric_dtype(df[k]) for k in (x, hue)):
            raise SweepError("plot: --heatmap needs numeric --x and --hue keys")
        grid = stats.pivot_table(index=hue, columns=x, values="mean")
        fig, ax = plt.subplots(figsize=FIGSIZE, dpi=DPI)
        im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(grid.columns)), ["%g" % v for v in grid.columns])
        ax.set_yticks(range(len(grid.index)), ["%g" % v for v in grid.index])
        ax.set_xlabel(x)
        ax.set_ylabel(hue)
        fig.colorbar(im, ax=ax, label=label)
        ax.set_title("%s: %s" % (table.root.batch_name, label))
        fig.tight_layout()
        return fig
    panels = list(stats[col].drop_duplicates()) if col else [None]
    fig, axes = plt.subplots(1, len(panels), figsize=(FIGSIZE[0] * max(1, len(panels)) * 0.75 + 1.6, FIGSIZE[1]),
                             dpi=DPI, squeeze=False, sharey=True)
    for ax, panel in zip(axes[0], panels):
        sub = stats if col is None else stats[stats[col] == panel]
        for hv in (list(sub[hue].drop_duplicates()) if hue else [None]):
            line = sub if hue is None else sub[sub[hue] == hv]
            line = line.sort_values(x)
            ax.plot(line[x], line["mean"], marker="o", label=None if hue is None else "%s=%s" % (hue, hv))
            if (line["count"] > 1).any():  # repeated points (seeds): a band for the spread
                std = line["std"].fillna(0)
                ax.fill_between(line[x], line["mean"] - std, line["mean"] + std, alpha=0.2)
        ax.set_xlabel(x)
        if col:
            ax.set_title("%s=%s" % (col, panel))
        if hue:
            ax.legend(fontsize="small")
    axes[0][0].set_ylabel(label + (" (mean ± sd)" if (stats["count"] > 1).any() else ""))
    fig.suptitle(table.root.batch_name)
    fig.tight_layout()
    return fig


def array_figure(table: SweepTable, name: str, x: str, y: str, when: str | float = "last") -> Any:
    """A grid of a saved array over two varying keys (the first run of each cell)."""
    import numpy as np

    plt = _matplotlib()
    if name not in table.arrays:
        raise SweepError("plot: no array %r; arrays: %s" % (name, ", ".join(table.arrays) or "none"))
    table.check_key("--x", x)
    table.check_key("--y", y)
    df = table.at_time(when)
    xs, ys = sorted(df[x].unique()), sorted(df[y].unique())
    fig, axes = plt.subplots(len(ys), len(xs), figsize=(1.9 * len(xs) + 1, 1.9 * len(ys) + 0.8), dpi=DPI,
                             squeeze=False)
    for i, yv in enumerate(reversed(ys)):
        for j, xv in enumerate(xs):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            cell = df[(df[x] == xv) & (df[y] == yv)]
            if i == len(ys) - 1:
                ax.set_xlabel("%s=%s" % (x, xv), fontsize="small")
            if j == 0:
                ax.set_ylabel("%s=%s" % (y, yv), fontsize="small")
            if cell.empty or not isinstance(cell[name].iloc[0], str) or not os.path.isfile(cell[name].iloc[0]):
                continue
            a = np.load(cell[name].iloc[0])
            if a.ndim == 3 and a.shape[-1] == 2:  # a map of positions (e.g. a SOM's weight map): draw the mesh
                ax.plot(a[..., 0], a[..., 1], "k-", lw=0.5)
                ax.plot(a[..., 0].T, a[..., 1].T, "k-", lw=0.5)
                ax.set_aspect("equal")
            else:
                ax.imshow(a if a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (3, 4)) else a.reshape(a.shape[0], -1),
                          cmap="viridis")
    fig.suptitle("%s: %s" % (table.root.batch_name, name))
    fig.tight_layout()
    return fig


def save_figure(fig: Any, path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".png", ".svg", ".pdf"):
        raise SweepError("plot: -o %s: unknown image format %r; use .png, .svg or .pdf" % (path, ext))
    tmp = path + ".tmp" + ext
    fig.savefig(tmp)
    os.replace(tmp, path)
    _matplotlib().close(fig)
    return path


def plot_cli(ns: Any) -> int:
    table = SweepTable(ns.root)
    if ns.array:
        if not ns.x or not ns.y:
            raise SweepError("plot: --array needs --x KEY and --y KEY")
        fig = array_figure(table, ns.array, ns.x, ns.y, ns.time)
        default = "array_%s.png" % ns.array
    else:
        if not ns.y:
            raise SweepError("plot: give --y RESULT (results: %s)" % ", ".join(table.results))
        fig = line_figure(table, ns.y, ns.x, ns.hue, ns.col, ns.time, ns.aggregate, ns.heatmap)
        default = "plot_%s.png" % ns.y
    path = save_figure(fig, ns.output or os.path.join(table.root.path, default))
    print(path)
    return 0


# --- the report ------------------------------------------------------------------


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    _matplotlib().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def report(root: str, output: str | None = None) -> str:
    """One self-contained HTML page: description, spec, environment, states, failures, table, figures."""
    from .launch import state as statemod
    from .launch.resume import refined_states

    table = SweepTable(root)
    r = table.root
    states = refined_states(r)
    counts = statemod.counts(states)
    esc = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>%s</title>" % esc(r.batch_name),
             "<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
             "font-size:small}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}pre{background:#f4f4f4;"
             "padding:1em;overflow:auto}img{max-width:100%}</style></head><body>",
             "<h1>Sweep %s</h1>" % esc(r.batch_name),
             "<p>%s</p>" % esc(r.info.get("batch_description") or ""),
             "<p>Root: <code>%s</code>; %d task(s): %s</p>" % (esc(r.path), len(states), esc(
                 ", ".join("%d %s" % (n, s) for s, n in counts.items())))]
    spec = r.sweep.get("spec")
    if spec and os.path.isfile(os.path.join(layout.spec_dir(r.path), spec)):
        with open(os.path.join(layout.spec_dir(r.path), spec)) as f:
            parts.append("<h2>Spec</h2><pre>%s</pre>" % esc(f.read()))
    env = {"platform": r.info.get("platform"), "host": r.info.get("host"), "versions": r.info.get("versions"),
           "git": r.info.get("metadata", {}).get("git"),
           "started": time.ctime(r.info["start_time"]) if r.info.get("start_time") else None,
           "ended": time.ctime(r.info["end_time"]) if r.info.get("end_time") else None}
    parts.append("<h2>Environment</h2><pre>%s</pre>" % esc("\n".join("%s: %s" % kv for kv in env.items())))
    failed = [ts for ts in states if ts.state not in ("done", "pending", "running")]
    if failed:
        parts.append("<h2>Failures</h2><pre>%s</pre>" % esc(
            "\n".join(line for ts in failed for line in statemod.describe_failure(r, ts))))
    parts.append("<h2>Figures</h2>")
    for y in table.numeric_results():
        x = table.varying[-1] if table.varying else None
        if x is None:
            break
        hue = table.varying[0] if len(table.varying) > 1 else None
        fig = line_figure(table, y, x=x, hue=hue, aggregate=[k for k in table.varying if k not in (x, hue)])
        parts.append("<h3>%s</h3><img alt='%s' src='data:image/png;base64,%s'>" % (esc(y), esc(y), _png(fig)))
    last = table.at_time("last")
    cols = ["_tid", "_time"] + table.params + table.results + ["_status"]
    parts.append("<h2>Results (last analysis time)</h2>")
    parts.append(last[[c for c in cols if c in last.columns]].to_html(index=False, float_format=lambda v: "%.6g" % v))
    parts.append("</body></html>")
    output = output or os.path.join(r.path, "report.html")
    tmp = output + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(parts))
    os.replace(tmp, output)
    return output


def report_cli(ns: Any) -> int:
    print(report(ns.root, ns.output))
    return 0
