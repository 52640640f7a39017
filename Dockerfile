# One image for every EGP process; compose.yaml picks the command (worker, executor, dbmanager, beat, flower,
# dashboard).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Dependencies first, in their own layer: exact versions from constraints.txt, rebuilt only when those change.
# psycopg[binary] brings its own libpq (the slim image has none); flower is the monitor's web server;
# starlette, jinja2, uvicorn and plotly serve the dashboard (no browser here, so `egp report --png` is not).
COPY constraints.txt ./
RUN pip install -c constraints.txt "celery[redis]" redis kombu "psycopg[binary]" SQLAlchemy alembic pydantic \
    pydantic-settings typer rich numpy cachetools flower starlette jinja2 uvicorn plotly kaleido
COPY pyproject.toml README.md LICENSE ./
COPY alembic ./alembic
COPY egp ./egp
COPY workers ./workers
COPY executors ./executors
COPY dbmanager ./dbmanager
# A regular (non-editable) install: the migration scripts travel inside the wheel as egp/_alembic.
RUN pip install -c constraints.txt '.[flower,binary,dashboard]' && rm -rf /src

RUN useradd --create-home --uid 10001 egp
USER egp
WORKDIR /home/egp
CMD ["egp", "status"]
