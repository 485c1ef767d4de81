"""Loading ``deduce`` for :mod:`signaal.privacy.deidentify`: its lookup cache in the data folder.

``deduce`` builds its lookup structures (name, street and place lists as tries) from its word
lists, which takes one to two minutes, and keeps them in a cache file. :func:`build_cache` builds
that cache into ``<data folder>/deduce`` during setup (``signaal setup-deidentify``, run by
``./dev setup`` and ``signaal demo``) and writes a stamp with the ``deduce`` version; the web app
loads it once (:func:`shared_annotator`, lazily and thread-safe) in about a second. Without a
cache of the installed version the app does not build one during a request: it uses the
project's own finders only and logs a warning.

The cache is a pickle (``deduce``'s own format): whoever can write the data folder can run code in
the app, as they can by replacing the database; keep the folder writable by the app's user only.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from signaal.errors import ConfigurationError

LOG = logging.getLogger(__name__)
CACHE_FOLDER = "deduce"
_STAMP = "version.txt"
_CACHE_FILE = Path("cache") / "lookup_structs.pickle"


def deduce_version() -> str:
    return importlib.metadata.version("deduce")


def cache_dir(data_dir: Path) -> Path:
    return data_dir / CACHE_FOLDER


def cache_is_current(data_dir: Path) -> bool:
    """Whether the data folder holds a cache built for the installed ``deduce``."""
    folder = cache_dir(data_dir)
    stamp = folder / _STAMP
    return (
        (folder / _CACHE_FILE).is_file()
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8").strip() == deduce_version()
    )


def _import_deduce() -> Any:
    """``import deduce``, undoing the ``logging.basicConfig(level=DEBUG)`` it does on import."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import deduce
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return deduce


class DeduceAnnotator:
    """A loaded ``deduce`` model as a :class:`signaal.privacy.deidentify.TextAnnotator`."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def annotate(self, text: str) -> Iterator[tuple[int, int, str]]:
        document = self._model.deidentify(text)
        for annotation in document.annotations:
            yield annotation.start_char, annotation.end_char, str(annotation.tag)


def build_cache(data_dir: Path, *, force: bool = False) -> bool:
    """Build ``deduce``'s lookup cache into the data folder; False when it was current already."""
    if not force and cache_is_current(data_dir):
        return False
    folder = cache_dir(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _import_deduce().Deduce(cache_path=folder, build_lookup_structs=True)
        (folder / _STAMP).write_text(deduce_version() + "\n", encoding="utf-8")
    except OSError as exc:
        problem = f"cannot write the de-identification cache in {folder}: {exc}"
        raise ConfigurationError(problem) from exc
    return True


def load_annotator(data_dir: Path) -> DeduceAnnotator | None:
    """``deduce`` from the data folder's cache; None (with a warning) when there is none."""
    if not cache_is_current(data_dir):
        LOG.warning(
            "no de-identification cache of deduce %s in %s: run `signaal setup-deidentify`; "
            "free text is checked with the project's own finders only",
            deduce_version(),
            cache_dir(data_dir),
        )
        return None
    return DeduceAnnotator(_import_deduce().Deduce(cache_path=cache_dir(data_dir)))


_LOCK = threading.Lock()
_LOADED: dict[Path, DeduceAnnotator | None] = {}  # by the cache folder, links resolved


def shared_annotator(data_dir: Path) -> DeduceAnnotator | None:
    """The process's one annotator of ``data_dir``, loaded at the first call (thread-safe)."""
    key = cache_dir(data_dir).resolve()
    if key in _LOADED:
        return _LOADED[key]
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = load_annotator(data_dir)
        return _LOADED[key]
