"""Is this installation whole? The pools' packages must be the ones installed beside `egp`.

EGP installs its Celery apps as top-level packages (`workers`, `executors`, `dbmanager`), as the process
layout asks (`celery -A workers.app`). Those are generic names: another distribution, or a directory of
that name in the current directory or on PYTHONPATH, could be found first and run instead of ours.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

POOL_PACKAGES: tuple[str, ...] = ("workers", "executors", "dbmanager")


def foreign_pool_packages() -> list[str]:
    """Return one line per pool package that is missing or found somewhere other than beside `egp`."""
    home = Path(__file__).resolve().parent.parent
    problems: list[str] = []
    for name in POOL_PACKAGES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin is None:
            problems.append(f"package {name} is not installed beside egp ({home})")
        elif Path(origin).resolve().parent.parent != home:
            problems.append(
                f"package {name} is shadowed: {Path(origin).parent} is found before {home / name}"
            )
    return problems
