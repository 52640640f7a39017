"""The monitor's entry point: `celery -A workers.flower flower`.

Flower looks task results up through Celery's current (default) app. EGP's apps are built with
`set_as_current=False` (a process may hold several), so under `-A workers.app` Flower's fallback app has no
result backend and `/api/task/result/<id>` answers 503. Here the evolution app is made the default first,
so that endpoint returns a running `evolution.epoch`'s PROGRESS meta from the result backend.
"""

from workers.app import app

app.set_default()
app.set_current()

__all__ = ["app"]
