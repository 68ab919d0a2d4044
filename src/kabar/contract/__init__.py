"""The one contract every kabar service shares.

Messages (``messages``), configuration (``settings``), the Celery application and its
queue routing (``celery_app``), metric helpers (``metrics``) and the dead-letter store
(``deadletter``). Services import this package and nothing from each other.
"""
