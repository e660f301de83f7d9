"""Constructor-call reprs as Lancet prints them: `Launcher(batch_name='demo',args=...,...)`."""

from __future__ import annotations

import param


def constructor_repr(obj: param.Parameterized, always: tuple[str, ...], never: tuple[str, ...] = ("name",)) -> str:
    """The parameters in `always` (even at their defaults), then every other one that was changed."""
    items = [(k, getattr(obj, k)) for k in always]
    items += [(k, getattr(obj, k)) for k, p in obj.param.objects("existing").items()
              if k not in always and k not in never and getattr(obj, k) != p.default]
    return "%s(%s)" % (type(obj).__name__, ",".join("%s=%r" % kv for kv in items))
