"""Parses YAML texts with libyaml, or reads a text's parsed copy from the cache directory without importing PyYAML."""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from mock_api.data.cachedir import cache_dir, install_stamp, keep_newest

# Importing PyYAML on every start for six small files parsed the same way each time is waste: a text
# parsed once is kept as JSON, by its hash, as one file of the cache directory (the last PARSED_KEPT).
PARSED_PREFIX = "yaml-"
PARSED_KEPT = 256
PARSED_FORMAT = 1
_MISSING = object()


class YamlError(ValueError):
    """A text PyYAML cannot parse: where (`line 4, column 1`) and what, in PyYAML's words."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where, self.what = where, what


def load_yaml(text: str) -> Any:
    """yaml.safe_load with libyaml's parser when PyYAML has it; YamlError for bad syntax. A fresh object each call."""
    directory = cache_dir()
    path = directory / f"{PARSED_PREFIX}{_key(text)}.json" if directory else None
    if path is not None and (cached := _read(path)) is not _MISSING:
        return cached
    import yaml  # here, not at import: see PARSED_KEPT

    try:
        # libyaml's parser (PyYAML's wheels have it): the same safe constructor, several times faster.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise YamlError(*_problem(exc, isinstance(exc, yaml.MarkedYAMLError))) from exc
    if path is not None:
        _remember(path, data)
    return data


def yaml_problem(exc: ValueError) -> tuple[str, str]:
    """(where, what) of a YAML error: `line 4, column 1` and PyYAML's words, never its "<unicode string>";
    for another ValueError (a bad encoding, a date like 2021-02-30), "(syntax)" and its message."""
    if isinstance(exc, YamlError):
        return exc.where, exc.what
    return "(syntax)", " ".join(str(exc).split())


def _problem(exc: Any, marked: bool) -> tuple[str, str]:
    mark = getattr(exc, "problem_mark", None)
    if not marked or mark is None:
        return "(syntax)", " ".join(str(exc).split())
    words = " ".join(part for part in (exc.problem, f"({exc.context})" if exc.context else None) if part)
    return f"line {mark.line + 1}, column {mark.column + 1}", f"YAML syntax: {words}"


def _key(text: str) -> str:
    """The text and the PyYAML install that would parse it: an upgraded PyYAML parses again."""
    stamp = json.dumps([PARSED_FORMAT, install_stamp("yaml")]).encode()
    return hashlib.sha256(stamp + b"\0" + text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _MISSING  # not parsed before, or unreadable or partial: parse again


def _remember(path: Path, data: Any) -> None:
    """Keep `data` if JSON gives it back exactly (not dates, sets or non-text keys); drop the oldest past the bound."""
    try:
        text = json.dumps(data)
        if json.loads(text) != data:
            return
    except (TypeError, ValueError):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Per process and thread: two requests loading the same new scenario file each write their own.
        temporary = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)  # atomic: a concurrent start reads no file or the whole one
        keep_newest(path.parent, [f"{PARSED_PREFIX}*.json"], PARSED_KEPT)
    except OSError:
        pass  # a read-only home only costs the next start the parse
