"""The evolution worker pool: a thin Celery app whose tasks call the engine in `egp`."""
