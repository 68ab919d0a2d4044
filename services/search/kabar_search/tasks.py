"""Celery entry point of the index worker (``kabar worker index``)."""

from kabar.contract.runner import register_stage
from kabar.contract.settings import get_settings
from kabar_search.stage import build_handler

index = register_stage("index", lambda: build_handler(get_settings()))
