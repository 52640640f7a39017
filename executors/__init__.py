"""The fitness executor pool: a thin Celery app whose tasks evaluate fitness batches with `egp`."""
