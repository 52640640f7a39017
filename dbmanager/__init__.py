"""The DB manager: a thin Celery app (one worker per database it owns) plus its beat schedule."""
