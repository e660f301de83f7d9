"""Parameter spaces: Lancet's argument specifiers and their algebra, evaluated lazily.

`a * b` is the cartesian product (b varies fastest), `a + b` concatenation.
Every specifier answers `len`, `constant_keys` and `varying_keys` from per-key
statistics combined through the expression tree, and streams its points with
`iter_specs()`, so a product of millions of points is never materialized
unless `.specs` is asked for.
"""

from __future__ import annotations

import glob
import itertools
import json
import math
import os
import re
import string
from typing import Any, Callable, Iterable, Iterator

import param

from .errors import SpecError

__all__ = [
    "Args", "Range", "List", "Log", "FilePattern", "Concatenate",
    "CartesianProduct", "Identity", "Zip", "identityfn", "BaseArgs", "Arguments", "fp_repr", "set_fp_precision",
]


def identityfn(x: Any) -> Any:
    """The default `mapfn` of `Range`."""
    return x


def fp_repr(x: Any) -> str:
    """Lancet's: floats as str, everything else as repr."""
    return str(x) if isinstance(x, float) else repr(x)


def set_fp_precision(value: int) -> None:
    """Lancet's: the default number of digits every specifier rounds floats to from now on."""
    BaseArgs.fp_precision = value


_MANY = object()  # marks a key that takes more than one value


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays and other ambiguous comparisons
        return repr(a) == repr(b)


class _KeyStats:
    """What the algebra needs to know about one key, without the points.

    present: how many points carry the key; runs: how many runs of equal
    consecutive values its column has (fewer runs = slower varying);
    first/last: the first and last values; single: the only value, or _MANY.
    """

    __slots__ = ("present", "runs", "first", "last", "single")

    def __init__(self, present: int, runs: int, first: Any, last: Any, single: Any):
        self.present, self.runs, self.first, self.last, self.single = present, runs, first, last, single

    @classmethod
    def of_column(cls, values: list) -> "_KeyStats":
        runs, single = 1, values[0]
        for prev, cur in zip(values, values[1:]):
            if not _same(prev, cur):
                runs += 1
                single = _MANY
        if single is not _MANY and runs == 1:
            single = values[0]
        return cls(len(values), runs, values[0], values[-1], single)


def _stats_of(specs: Iterable[dict]) -> dict[str, _KeyStats]:
    columns: dict[str, list] = {}
    for spec in specs:
        for k, v in spec.items():
            columns.setdefault(k, []).append(v)
    return {k: _KeyStats.of_column(col) for k, col in columns.items()}


def _round_spec(spec: dict, fp_precision: int) -> dict:
    out = {}
    for k, v in spec.items():
        if isinstance(v, float):  # numpy.float64 is a float subclass
            v = int(v) if fp_precision == 0 else round(float(v), fp_precision)
        out[k] = v
    return out


class BaseArgs(param.Parameterized):
    """Behaviour shared by every argument specifier (Lancet's BaseArgs)."""

    fp_precision = param.Integer(default=4, bounds=(0, None), constant=True, doc="""
        Number of decimal places floats are rounded to; 0 casts floats to int.""")

    _infix: str | None = None  # '*' or '+' for the binary operators
    _str_leaves_out: tuple[str, ...] = ("fp_precision",)  # constructor arguments str shows only when changed

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._lexorder: tuple[str, ...] | None = None
        self._sorted_stats: dict[str, _KeyStats] | None = None

    # --- what subclasses provide -------------------------------------------
    def _length(self) -> int:
        raise NotImplementedError

    def _iter(self) -> Iterator[dict]:
        raise NotImplementedError

    def _source_stats(self) -> dict[str, _KeyStats]:
        """Per-key statistics of the points in their own order, keys in order of first appearance."""
        raise NotImplementedError

    def _stats(self) -> dict[str, _KeyStats]:
        """Per-key statistics of the points as iterated: a lexsort reorders them, so it counts them again."""
        if self._lexorder is None:
            return self._source_stats()
        if self._sorted_stats is None:
            self._sorted_stats = _stats_of(self.iter_specs())
        return self._sorted_stats

    def _ctor_items(self) -> list[tuple[str, Any]]:
        """(name, value) pairs of the constructor call that rebuilds this object."""
        raise NotImplementedError

    # --- the Lancet interface ----------------------------------------------
    def iter_specs(self) -> Iterator[dict]:
        """Stream the points, one fresh dict each, without building the list."""
        if self._lexorder is not None:
            return iter(self._lexsorted(list(self._iter()), self._lexorder))
        return self._iter()

    @property
    def specs(self) -> list[dict]:
        return list(self.iter_specs())

    def __len__(self) -> int:
        return self._length()

    def __iter__(self):
        # Lancet iterates one group: the list of all specs.
        return iter([self.specs])

    def __contains__(self, key: str) -> bool:
        return key in self._stats()

    def __bool__(self) -> bool:
        return True

    @property
    def constant_keys(self) -> list[str]:
        return sorted(k for k, s in self._stats().items() if s.single is not _MANY)

    @property
    def constant_items(self) -> list[tuple[str, Any]]:
        stats = self._stats()
        return [(k, stats[k].single) for k in self.constant_keys]

    @property
    def varying_keys(self) -> list[str]:
        """Keys that vary, slowest first; alphabetical among keys varying at the same rate."""
        varying = [(s.runs, k) for k, s in self._stats().items() if s.single is _MANY]
        return [k for _, k in sorted(varying)]

    def show(self, exclude: Iterable[str] = ()) -> None:
        """Print one line per point: `0: a=3, b=5`."""
        exclude = set(exclude)
        ordering = [k for k in self.constant_keys + self.varying_keys if k not in exclude]
        for i, spec in enumerate(self.iter_specs()):
            print("%d: %s" % (i, ", ".join("%s=%s" % (k, spec[k]) for k in ordering if k in spec)))

    def summary(self) -> None:
        """Print the number of points, the varying keys and the constant items."""
        print("Items: %s" % len(self))
        print("Varying Keys: %s" % ", ".join("%r" % k for k in self.varying_keys))
        items = self.constant_items
        if items:
            print("Constant Items: %s" % ", ".join("%s=%r" % (k, v) for k, v in items))

    def lexsort(self, *order: str) -> "BaseArgs":
        """A copy whose points are sorted by keys: '+key' ascending, '-key' descending."""
        for el in order:
            if not isinstance(el, str) or el[:1] not in ("+", "-"):
                raise SpecError("lexsort: give keys as '+key' (ascending) or '-key' (descending), got %r" % (el,))
            if el[1:] not in self:
                raise SpecError("lexsort: unknown key %r; keys are %s" % (el[1:], ", ".join(map(repr, self._stats()))))
        new = self.copy()
        new._lexorder, new._sorted_stats = tuple(order), None
        return new

    @staticmethod
    def _lexsorted(specs: list[dict], order: tuple[str, ...]) -> list[dict]:
        for el in reversed(order):
            key, descending = el[1:], el[0] == "-"
            present = [s for s in specs if key in s]
            absent = [s for s in specs if key not in s]
            specs = sorted(present, key=lambda s: s[key], reverse=descending) + absent
        return specs

    def copy(self) -> "BaseArgs":
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    @property
    def dframe(self):
        """The points as a pandas DataFrame (imports pandas)."""
        import pandas as pd
        return pd.DataFrame(self.specs)

    def spec_formatter(self, spec: dict) -> dict:
        return {k: str(v) for k, v in spec.items()}

    # --- the algebra -----------------------------------------------------------
    def __add__(self, other: "BaseArgs") -> "BaseArgs":
        if not other:
            return self
        if not self:
            return other
        return Concatenate(self, other)

    def __radd__(self, other: "BaseArgs") -> "BaseArgs":
        if not other:
            return self
        return Concatenate(other, self)

    def __mul__(self, other: "BaseArgs") -> "BaseArgs":
        if not other:
            return self
        if not self:
            return other
        return CartesianProduct(self, other)

    def __rmul__(self, other: "BaseArgs") -> "BaseArgs":
        if not other:
            return self
        return CartesianProduct(other, self)

    # --- repr / str: the constructor call that rebuilds the object --------------
    def _pprint(self, flat: bool, level: int = 1, changed_only: bool | None = None) -> str:
        """Lancet's layout: repr is flat with every argument; str is indented and leaves out defaults."""
        changed_only = not flat if changed_only is None else changed_only
        tab = "   "
        if self._infix:
            first, second = self.first, self.second
            parts = []
            for operand in (first, second):
                text = operand._pprint(flat, level, changed_only)
                if self._infix == "*" and operand._infix == "+":
                    text = "(%s)" % text
                parts.append(text)
            text = "%s %s %s" % (parts[0], self._infix, parts[1])
        else:
            items = self._ctor_items()
            if changed_only:
                items = [(k, v) for k, v in items if not (k in self._str_leaves_out and v == self.param[k].default)]
            br, indent = ("", "") if flat else ("\n", tab * level)
            args = [
                "%s%s=%s" % (br + indent, k, v._pprint(flat, level + 1, changed_only) if isinstance(v, BaseArgs) else repr(v))
                for k, v in items
            ]
            text = "%s(%s%s)" % (type(self).__name__, ",".join(args), "" if flat or not args else br + tab * (level - 1))
        return self._with_lexsort(text)

    def _with_lexsort(self, text: str) -> str:
        if self._lexorder is None:
            return text
        return "(%s).lexsort(%s)" % (text, ", ".join(repr(o) for o in self._lexorder))

    def __repr__(self) -> str:
        return self._pprint(flat=True)

    def __str__(self) -> str:
        return self._pprint(flat=False)


Arguments = BaseArgs  # Lancet's name for the base class


class Args(BaseArgs):
    """An explicit list of points, or constants given as keywords: Args(a=2, b=3)."""

    def __init__(self, specs: list[dict] | None = None, fp_precision: int | None = None, **kwargs: Any):
        if fp_precision is None:
            fp_precision = BaseArgs.fp_precision
        self._explicit = specs is not None
        if specs is None:
            specs = [dict(kwargs)] if kwargs else []
            params: dict = {}
        else:
            if isinstance(specs, dict):
                specs = [specs]
            if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
                raise SpecError("Args: specs must be a list of dicts, got %r" % (specs,))
            params = kwargs
        super().__init__(fp_precision=fp_precision, **params)
        self._set_specs([_round_spec(s, fp_precision) for s in specs])

    def _set_specs(self, specs: list[dict]) -> None:
        self._specs = specs
        self._stats_cache: dict[str, _KeyStats] | None = None

    def _length(self) -> int:
        return len(self._specs)

    def _iter(self) -> Iterator[dict]:
        return map(dict, self._specs)

    def _source_stats(self) -> dict[str, _KeyStats]:
        if self._stats_cache is None:
            self._stats_cache = _stats_of(self._specs)
        return self._stats_cache

    def __bool__(self) -> bool:
        return True

    def _ctor_items(self) -> list[tuple[str, Any]]:
        if self._explicit:
            return [("specs", self._specs), ("fp_precision", self.fp_precision)]
        return [("fp_precision", self.fp_precision)] + (list(self._specs[0].items()) if self._specs else [])


def _number(cls_name: str, key: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError("%s(%r): %s must be a number, got %r" % (cls_name, key, name, value))
    return value


class Range(Args):
    """`steps` values of `key` from `start_value` to `end_value` inclusive (linear by default).

    Beyond Lancet: `log=True` spaces the values geometrically, `integer=True`
    rounds them to distinct integers.
    """

    _str_leaves_out = ("fp_precision", "steps")

    key = param.String(default="", constant=True, doc="The key the values are assigned to.")
    start_value = param.Number(default=None, allow_None=True, constant=True, doc="First value of the range.")
    end_value = param.Number(default=None, allow_None=True, constant=True, doc="Last value of the range (inclusive).")
    steps = param.Integer(default=2, constant=True, bounds=(1, None), doc="Number of values, at least 1.")
    mapfn = param.Callable(default=identityfn, constant=True, doc="Function applied to every value.")
    log = param.Boolean(default=False, constant=True, doc="Space the values geometrically (bounds must be > 0).")
    integer = param.Boolean(default=False, constant=True, doc="Round the values to integers, which must be distinct.")

    def __init__(self, key: str, start_value: float, end_value: float, steps: int = 2,
                 mapfn: Callable = identityfn, log: bool = False, integer: bool = False, **params: Any):
        _number("Range", key, "start_value", start_value)
        _number("Range", key, "end_value", end_value)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise SpecError("Range(%r): steps must be an integer >= 1, got %r" % (key, steps))
        if log and (start_value <= 0 or end_value <= 0):
            raise SpecError("Range(%r): a log range needs bounds > 0, got %r and %r" % (key, start_value, end_value))
        values = self.linspace(start_value, end_value, steps, log)
        if integer:
            values = [int(round(v)) for v in values]
            if len(set(values)) != len(values):
                raise SpecError("Range(%r, %r, %r, steps=%d, integer=True) repeats values; use at most %d steps"
                                % (key, start_value, end_value, steps, int(abs(end_value - start_value)) + 1))
        super().__init__([{key: mapfn(v)} for v in values], key=key, start_value=start_value,
                         end_value=end_value, steps=steps, mapfn=mapfn, log=log, integer=integer, **params)
        self._explicit = True

    @staticmethod
    def linspace(start: float, stop: float, n: int, log: bool = False) -> list[float]:
        if log:
            return [math.exp(v) for v in Range.linspace(math.log(start), math.log(stop), n)]
        if n == 1:
            return [start]  # as given, like Lancet: Range('x', 2, 2, steps=1) gives x=2
        nm1 = n - 1
        return [(start * (nm1 - i) + stop * i) / nm1 for i in range(n)]

    def _ctor_items(self) -> list[tuple[str, Any]]:
        items = [("key", self.key), ("start_value", self.start_value), ("end_value", self.end_value),
                 ("steps", self.steps)]
        if self.mapfn is not identityfn:
            items.append(("mapfn", self.mapfn))
        for name in ("log", "integer"):
            if getattr(self, name):
                items.append((name, True))
        items.append(("fp_precision", self.fp_precision))
        return items


class List(Args):
    """The values of one key, in order: List('seed', [1, 2, 3])."""

    key = param.String(default="", constant=True, doc="The key the values are assigned to.")
    values = param.List(default=[], constant=True, doc="The values, in order.")

    def __init__(self, key: str, values: list, **params: Any):
        if not isinstance(values, (list, tuple)):
            raise SpecError("List(%r): values must be a list, got %r" % (key, values))
        super().__init__([{key: v} for v in values], key=key, values=list(values), **params)
        self._explicit = True

    def _ctor_items(self) -> list[tuple[str, Any]]:
        items = [("key", self.key), ("values", self.values)]
        items.append(("fp_precision", self.fp_precision))
        return items


class Log(Args):
    """The points of a launch log (lines `<tid> <json>`), each with its tid under `tid_key`."""

    _str_leaves_out = ("fp_precision", "tid_key")

    log_path = param.String(default=None, allow_None=True, constant=True, doc="Path of the log file.")
    tid_key = param.String(default="tid", allow_None=True, constant=True, doc="""
        Key the task id is stored under; None leaves it out.""")

    def __init__(self, log_path: str, tid_key: str | None = "tid", **params: Any):
        items = sorted(Log.extract_log(log_path).items())
        if tid_key is None:
            specs = [spec for _, spec in items]
        else:
            specs = [dict(spec, **{tid_key: tid}) for tid, spec in items]
        super().__init__(specs, log_path=log_path, tid_key=tid_key, **params)
        self._explicit = True

    @staticmethod
    def extract_log(log_path: str, dict_type: type = dict) -> dict:
        """Read a log into {tid: spec}."""
        if not os.path.isfile(log_path):
            raise SpecError("Log: no log file at %s" % log_path)
        items = []
        with open(log_path) as log:
            for lineno, line in enumerate(log, 1):
                if not line.strip():
                    continue
                tid, _, text = line.strip().partition(" ")
                try:
                    items.append((int(tid), {str(k): v for k, v in json.loads(text).items()}))
                except (ValueError, AttributeError) as exc:
                    raise SpecError("%s:%d: not a '<tid> <json>' log line: %s" % (log_path, lineno, exc)) from None
        return dict_type(items)

    @staticmethod
    def write_log(log_path: str, data: "BaseArgs | list[dict]", allow_append: bool = True) -> None:
        """Write points as `<tid> <json>` lines, appending after the last tid when the file exists."""
        append = os.path.isfile(log_path)
        if append and not allow_append:
            raise SpecError("Log.write_log: appending is disabled and %s exists" % log_path)
        if not isinstance(data, (list, BaseArgs)):
            raise SpecError("Log.write_log: can only write Args objects or lists of dicts")
        specs = data if isinstance(data, list) else data.specs
        if not all(isinstance(el, dict) for el in specs):
            raise SpecError("Log.write_log: list elements must be dicts")
        start, prefix = 0, ""
        if append:
            with open(log_path) as f:
                text = f.read()
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if lines:
                start = int(lines[-1].split()[0]) + 1
                prefix = "" if text.endswith("\n") else "\n"
        with open(log_path, "a" if append else "w") as f:
            f.write(prefix + "".join("%d %s\n" % (tid, json.dumps(spec)) for tid, spec in enumerate(specs, start)))

    def _ctor_items(self) -> list[tuple[str, Any]]:
        return [("log_path", self.log_path), ("tid_key", self.tid_key), ("fp_precision", self.fp_precision)]


class FilePattern(Args):
    """Files matching a pattern with named, typed fields: 'data/run-{seed:d}-{rate:f}.npz'.

    Each point holds the file's absolute path under `key` and the fields'
    values; points are sorted by path.
    """

    key = param.String(default="", constant=True, doc="Key holding each file's absolute path.")
    pattern = param.String(default="", constant=True, doc="Glob with {name}, {name:d} (int) or {name:f} (float) fields.")
    root = param.String(default=None, allow_None=True, constant=True, doc="Directory the pattern is relative to (default: cwd).")

    _FIELD_RES = {"d": (r"[-+]?\d+", int), "f": (r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", float)}

    def __init__(self, key: str, pattern: str, root: str | None = None, **params: Any):
        base = os.path.abspath(root if root is not None else os.getcwd())
        full = os.path.join(base, os.path.expanduser(pattern))
        glob_parts, regex_parts, converters = [], [], {}
        for literal, field, spec, _conv in string.Formatter().parse(full):
            glob_parts.append(literal)  # glob wildcards (* and ?) outside fields work as in Lancet
            regex_parts.append(re.escape(literal).replace(r"\*", "[^/]*").replace(r"\?", "[^/]"))
            if field is None:
                continue
            if not field.isidentifier():
                raise SpecError("FilePattern(%r): field {%s} must be a name" % (key, field))
            regex, conv = self._FIELD_RES.get(spec or "", (r"[^/]*", str))
            glob_parts.append("*")
            if field in converters:
                regex_parts.append("(?P=%s)" % field)
            else:
                regex_parts.append("(?P<%s>%s)" % (field, regex))
            converters[field] = conv
        matcher = re.compile("".join(regex_parts) + r"\Z")
        specs = []
        for path in sorted(glob.glob("".join(glob_parts))):
            m = matcher.match(path)
            if m:
                specs.append(dict({f: converters[f](v) for f, v in m.groupdict().items()}, **{key: path}))
        super().__init__(specs, key=key, pattern=pattern, root=root, **params)
        self._explicit = True

    def _ctor_items(self) -> list[tuple[str, Any]]:
        items = [("key", self.key), ("pattern", self.pattern)]
        if self.root is not None:
            items.append(("root", self.root))
        return items + [("fp_precision", self.fp_precision)]


class Identity(Args):
    """The neutral element of both `+` and `*`: no points, and falsy."""

    def __init__(self, **params: Any):
        super().__init__([], **params)

    def __bool__(self) -> bool:
        return False

    def _ctor_items(self) -> list[tuple[str, Any]]:
        return []


class _Binary(Args):
    first = param.ClassSelector(default=None, class_=BaseArgs, allow_None=True, constant=True, doc="Left operand.")
    second = param.ClassSelector(default=None, class_=BaseArgs, allow_None=True, constant=True, doc="Right operand.")

    def __init__(self, first: BaseArgs, second: BaseArgs):
        for operand in (first, second):
            if not isinstance(operand, BaseArgs):
                raise SpecError("%s: operands must be argument specifiers, got %r" % (type(self).__name__, operand))
        BaseArgs.__init__(self, first=first, second=second,
                          fp_precision=max(first.fp_precision, second.fp_precision))
        self._cache: dict[str, _KeyStats] | None = None
        self._len = self._compute_length()

    def _length(self) -> int:
        return self._len

    def _source_stats(self) -> dict[str, _KeyStats]:
        if self._cache is None:
            self._cache = self._combine(self.first._stats(), self.second._stats())
        return self._cache

    def __bool__(self) -> bool:
        return True


class Concatenate(_Binary):
    """The points of `first` followed by those of `second` (`first + second`)."""

    _infix = "+"

    def _compute_length(self) -> int:
        return len(self.first) + len(self.second)

    def _iter(self) -> Iterator[dict]:
        return itertools.chain(self.first.iter_specs(), self.second.iter_specs())

    def _combine(self, a: dict, b: dict) -> dict:
        out = {}
        for k in list(a) + [k for k in b if k not in a]:
            sa, sb = a.get(k), b.get(k)
            if sa is None or sb is None:
                out[k] = sa or sb
                continue
            single = sa.single if (sa.single is not _MANY and sb.single is not _MANY
                                   and _same(sa.single, sb.single)) else _MANY
            runs = sa.runs + sb.runs - (1 if _same(sa.last, sb.first) else 0)
            out[k] = _KeyStats(sa.present + sb.present, runs, sa.first, sb.last, single)
        return out


class CartesianProduct(_Binary):
    """Every point of `first` combined with every point of `second`, `second` fastest (`first * second`)."""

    _infix = "*"

    def __init__(self, first: BaseArgs, second: BaseArgs):
        super().__init__(first, second)
        overlap = [k for k in first._stats() if k in second._stats()]
        if overlap:
            raise SpecError("keys cannot overlap in a cartesian product: %s on both sides of *"
                            % ", ".join(map(repr, overlap)))

    def _compute_length(self) -> int:
        return len(self.first) * len(self.second)

    def _factors(self) -> list[BaseArgs]:
        out = []
        for operand in (self.first, self.second):
            if isinstance(operand, CartesianProduct) and operand._lexorder is None:
                out.extend(operand._factors())
            else:
                out.append(operand)
        return out

    def _iter(self) -> Iterator[dict]:
        first, *rest = self._factors()
        # The slowest factor is streamed once; the others are replayed, so they are listed.
        return _merged_product(first.iter_specs(), [list(f.iter_specs()) for f in rest])

    def _combine(self, a: dict, b: dict) -> dict:
        len_a, len_b = len(self.first), len(self.second)
        out = {}
        for k, s in a.items():
            out[k] = _KeyStats(s.present * len_b, s.runs if len_b else 0, s.first, s.last, s.single)
        for k, s in b.items():
            merges = (len_a - 1) if (s.present and _same(s.last, s.first)) else 0
            out[k] = _KeyStats(s.present * len_a, s.runs * len_a - merges, s.first, s.last, s.single)
        return out


def _merged_product(first: Iterator[dict], rest: list[list[dict]]) -> Iterator[dict]:
    """Merge every combination into one dict; unrolled for the common small arities."""
    n = len(rest)
    if n == 1:
        (l1,) = rest
        for a in first:
            for b in l1:
                yield {**a, **b}
    elif n == 2:
        l1, l2 = rest
        for a in first:
            for b in l1:
                ab = {**a, **b}
                for c in l2:
                    yield {**ab, **c}
    elif n == 3:
        l1, l2, l3 = rest
        for a in first:
            for b in l1:
                ab = {**a, **b}
                for c in l2:
                    abc = {**ab, **c}
                    for d in l3:
                        yield {**abc, **d}
    else:
        for a in first:
            for combo in itertools.product(*rest):
                d = dict(a)
                for x in combo:
                    d.update(x)
                yield d


class Zip(Args):
    """Linked parameters: the i-th points of equal-length specifiers merged, so they vary in lockstep."""

    def __init__(self, *specifiers: BaseArgs):
        if len(specifiers) < 2:
            raise SpecError("Zip: give at least two specifiers to link, got %d" % len(specifiers))
        for s in specifiers:
            if not isinstance(s, BaseArgs):
                raise SpecError("Zip: operands must be argument specifiers, got %r" % (s,))
        lengths = [len(s) for s in specifiers]
        if len(set(lengths)) != 1:
            detail = ", ".join("%s has %d" % (s._pprint(True, changed_only=True), n) for s, n in zip(specifiers, lengths))
            raise SpecError("Zip: linked specifiers must have the same length: %s" % detail)
        seen: dict[str, int] = {}
        for i, s in enumerate(specifiers):
            for k in s._stats():
                if k in seen:
                    raise SpecError("Zip: key %r appears in more than one linked specifier" % k)
                seen[k] = i
        BaseArgs.__init__(self, fp_precision=max(s.fp_precision for s in specifiers))
        self._specifiers = specifiers
        self._explicit = True
        self._stats_cache = None

    def _length(self) -> int:
        return len(self._specifiers[0])

    def _iter(self) -> Iterator[dict]:
        for parts in zip(*(s.iter_specs() for s in self._specifiers)):
            d: dict = {}
            for p in parts:
                d.update(p)
            yield d

    def _source_stats(self) -> dict[str, _KeyStats]:
        if self._stats_cache is None:
            self._stats_cache = {}
            for s in self._specifiers:
                self._stats_cache.update(s._stats())
        return self._stats_cache

    def _pprint(self, flat: bool, level: int = 1, changed_only: bool | None = None) -> str:
        changed_only = not flat if changed_only is None else changed_only
        inner = ", ".join(s._pprint(True, changed_only=changed_only) for s in self._specifiers)
        return self._with_lexsort("Zip(%s)" % inner)
