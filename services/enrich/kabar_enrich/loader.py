"""The one loader of enrich's models and tables: each is built once per process, on first use, and shared.

A model is any class whose no-argument constructor loads what it needs from the package (the
language detector, the NER model, the canonical-name table, the story vectorizer's document
frequencies). ``shared(Kind)`` returns this process' instance, building it under a lock the first
time, so a threads pool never loads one per thread. A prefork worker calls ``preload_models``
(``kabar_enrich.stage``) in its parent, so its children share the models' memory.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar, cast

Model = TypeVar("Model")

_loaded: dict[type[Any], Any] = {}
_loading = threading.Lock()


def shared(kind: type[Model]) -> Model:
    """This process' one ``kind()``, built on first use."""
    found = _loaded.get(kind)
    if found is None:
        with _loading:
            found = _loaded.get(kind)
            if found is None:
                found = _loaded[kind] = kind()
    return cast("Model", found)
