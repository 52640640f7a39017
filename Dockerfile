# One image for every EGP process; compose.yaml picks the command (worker, executor, dbmanager, beat, flower).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY alembic ./alembic
COPY egp ./egp
COPY workers ./workers
COPY executors ./executors
COPY dbmanager ./dbmanager
# A regular (non-editable) install: the migration scripts travel inside the wheel as egp/_alembic.
RUN pip install . && rm -rf /src

RUN useradd --create-home --uid 10001 egp
USER egp
WORKDIR /home/egp
CMD ["egp", "status"]
