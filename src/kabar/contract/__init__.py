"""The one contract every kabar service shares; services import this package and nothing from each other.

- ``messages``: the queue messages (pydantic, with ``schema_version``); ``batch``: several in one;
- ``settings``: ``KabarSettings``, all configuration;
- ``stages``: the stage table (``STAGES``, ``NEXT_STAGE``) and ``StageHandler``, what a service plugs in;
- ``celery_app``: the Celery app and its queues; ``queues``: sending onto them;
- ``inflight``: the in-flight ledger and its reconciler; ``failures``: error and retry policy, hand-offs;
- ``runner``: the stage runner behind every stage task; ``worker``: starting a worker;
- ``deadletter``: the dead-letter store; ``metrics``, ``queue_metrics``, ``multiproc``: Prometheus.
"""
