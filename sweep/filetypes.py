"""Lancet's file types: save and load files with metadata, attach them to a specifier."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import param

from .args import Args, BaseArgs, FilePattern
from .errors import SweepError


class FileType(param.Parameterized):
    """A file format with metadata: `save`, `metadata` and `data`; `a | b` accepts either format."""

    hash_suffix = param.Boolean(default=True, doc="Add a unique suffix to saved file names.")
    directory = param.String(default=".", allow_None=True, doc="Directory files are saved to and loaded from.")
    extensions = param.List(default=[], constant=True, doc="Extensions this type handles; the first is the default.")

    def save(self, filename: str, metadata: dict | None = None, **data: Any) -> str:
        raise NotImplementedError

    def metadata(self, filename: str) -> dict:
        raise NotImplementedError

    def data(self, filename: str) -> dict:
        raise NotImplementedError

    def _loadpath(self, filename: str) -> str:
        ext = os.path.splitext(filename)[1]
        if ext not in self.extensions:
            raise SweepError("%s: %s handles %s files, not %r" % (filename, type(self).__name__,
                                                                   ", ".join(self.extensions), ext))
        return os.path.abspath(os.path.join(self.directory or ".", filename))

    def _savepath(self, filename: str) -> str:
        base, ext = os.path.splitext(filename)
        if ext not in self.extensions:
            base, ext = filename, self.extensions[0]
        directory = os.path.abspath(self.directory or ".")
        if self.hash_suffix:
            fd, path = tempfile.mkstemp(ext, os.path.basename(base) + "_", directory)
            os.close(fd)
            return path
        return os.path.join(directory, base + ext)

    @classmethod
    def file_supported(cls, filename: Any) -> bool:
        if not isinstance(filename, str):
            return False
        return os.path.splitext(filename)[1] in cls.param["extensions"].default

    def __or__(self, other: "FileType") -> "FileOption":
        return FileOption(self, other)


class FileOption(FileType):
    """Either of two file types, chosen by extension."""

    first = param.ClassSelector(class_=FileType, default=None, allow_None=True, doc="The first file type.")
    second = param.ClassSelector(class_=FileType, default=None, allow_None=True, doc="The second file type.")

    def __init__(self, first: FileType, second: FileType, **params: Any):
        if set(first.extensions) & set(second.extensions):
            raise SweepError("FileOption: file types must handle different extensions")
        super().__init__(first=first, second=second, extensions=list(first.extensions) + list(second.extensions),
                         **params)

    def file_supported(self, filename: Any) -> bool:  # type: ignore[override]
        return self._select(filename) is not None

    def _select(self, filename: Any) -> FileType | None:
        for option in (self.first, self.second):
            if isinstance(filename, str) and os.path.splitext(filename)[1] in option.extensions:
                return option
        return None

    def _need(self, filename: str) -> FileType:
        option = self._select(filename)
        if option is None:
            raise SweepError("%s: no file type handles this extension (%s)" % (filename, ", ".join(self.extensions)))
        return option

    def save(self, filename: str, metadata: dict | None = None, **data: Any) -> str:
        return self._need(filename).save(filename, metadata, **data)

    def metadata(self, filename: str) -> dict:
        return self._need(filename).metadata(filename)

    def data(self, filename: str) -> dict:
        return self._need(filename).data(filename)


class JSONFile(FileType):
    """A JSON object: its items are both the metadata and the data."""

    extensions = param.List(default=[".json"], constant=True, doc="Extensions this type handles.")

    def save(self, filename: str, metadata: dict | None = None, **data: Any) -> str:
        path = self._savepath(filename)
        with open(path, "w") as f:
            json.dump(dict(metadata or {}, **data), f)
        return path

    def metadata(self, filename: str) -> dict:
        with open(self._loadpath(filename)) as f:
            return json.load(f)

    def data(self, filename: str) -> dict:
        return self.metadata(filename)


class NumpyFile(FileType):
    """Arrays in an .npz file, with a JSON metadata entry under 'metadata'."""

    extensions = param.List(default=[".npz"], constant=True, doc="Extensions this type handles.")
    compress = param.Boolean(default=True, doc="Compress the saved arrays.")

    def save(self, filename: str, metadata: dict | None = None, **data: Any) -> str:
        import numpy as np

        path = self._savepath(filename)
        (np.savez_compressed if self.compress else np.savez)(path, metadata=json.dumps(metadata or {}), **data)
        return path

    def metadata(self, filename: str) -> dict:
        import numpy as np

        with np.load(self._loadpath(filename), allow_pickle=False) as npz:
            return json.loads(str(npz["metadata"])) if "metadata" in npz.files else {}

    def data(self, filename: str) -> dict:
        import numpy as np

        with np.load(self._loadpath(filename), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files if k != "metadata"}


class CustomFile(FileType):
    """Any file, read by your own functions: `data_fn(filename)` and `metadata_fn(filename)` return dicts."""

    data_fn = param.Callable(default=None, allow_None=True, doc="Takes a filename, returns a dict of data.")
    metadata_fn = param.Callable(default=None, allow_None=True, doc="Takes a filename, returns a dict of metadata.")

    def __init__(self, data_fn: Any = None, metadata_fn: Any = None, **params: Any):
        fns = {k: v for k, v in (("data_fn", data_fn), ("metadata_fn", metadata_fn)) if v is not None}
        super().__init__(**params, **fns)

    def save(self, filename: str, metadata: dict | None = None, **data: Any) -> str:
        raise SweepError("CustomFile cannot save files; it only reads them with data_fn and metadata_fn")

    def metadata(self, filename: str) -> dict:
        return self._call("metadata_fn", filename)

    def data(self, filename: str) -> dict:
        return self._call("data_fn", filename)

    def _call(self, name: str, filename: str) -> dict:
        fn = getattr(self, name)
        if fn is None:
            raise SweepError("CustomFile: no %s given to read %s" % (name, filename))
        value = fn(filename)
        if not isinstance(value, dict):
            raise SweepError("CustomFile: %s must return a dict, got %s for %s"
                             % (name, type(value).__name__, filename))
        return value


class FileInfo(Args):
    """The points of `source`, each with the metadata of the file under `key` (Lancet's FileInfo)."""

    source = param.ClassSelector(class_=BaseArgs, default=None, allow_None=True, constant=True, doc="Specifier with file paths.")
    key = param.String(default="", constant=True, doc="Key of the file paths in source.")
    filetype = param.ClassSelector(class_=FileType, default=None, allow_None=True, constant=True, doc="How to read the files.")
    ignore = param.List(default=[], constant=True, doc="Metadata keys to leave out.")

    def __init__(self, source: BaseArgs, key: str, filetype: FileType, ignore: list | None = None, **params: Any):
        ignore = list(ignore or [])
        specs = []
        for spec in source.iter_specs():
            if key not in spec:
                raise SweepError("FileInfo: key %r is not in the source's points" % key)
            meta = {k: v for k, v in filetype.metadata(spec[key]).items() if k not in ignore}
            specs.append(dict(spec, **meta))
        super().__init__(specs, source=source, key=key, filetype=filetype, ignore=ignore, **params)
        self._explicit = True

    @classmethod
    def from_pattern(cls, pattern: str, filetype: FileType, key: str = "filename", root: str | None = None,
                     ignore: list | None = None) -> "FileInfo":
        return cls(FilePattern(key, pattern, root=root), key, filetype, ignore=ignore)

    def load(self, val: Any, **kwargs: Any) -> Any:
        return self.load_dframe(val)

    def load_table(self, table: Any) -> Any:
        return self.load_dframe(table)

    def load_dframe(self, dframe: Any) -> Any:
        """Add the data of each row's file to the DataFrame, one column per data key."""
        loaded = dframe[self.key].map(self.filetype.data)
        keys: list[str] = []
        for d in loaded:
            for k in d:
                if k not in keys:
                    keys.append(k)
        for k in keys:
            name = k + "_data" if k in dframe.columns else k
            dframe[name] = loaded.map(lambda d, k=k: d.get(k, float("nan")))
        return dframe

    def _ctor_items(self) -> list:
        return [("source", self.source), ("key", self.key), ("filetype", self.filetype)]
