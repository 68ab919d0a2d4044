"""Celery entry point of the enrich worker (``kabar worker enrich``)."""

import gc
from typing import Any

from celery.signals import worker_init

from kabar.contract.runner import register_stage
from kabar.contract.settings import get_settings
from kabar_enrich.stage import build_handler, preload_models

enrich = register_stage("enrich", lambda: build_handler(get_settings()))


@worker_init.connect(weak=False)  # type: ignore[untyped-decorator]
def _load_models_before_forking(**_: Any) -> None:
    # Loaded once in the parent, the models are shared by the pool's children. gc.freeze() keeps the
    # children's garbage collector from writing to those objects, which would copy their pages.
    preload_models()
    gc.freeze()
