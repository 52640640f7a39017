"""Preparing a DB manager's database: bring it to head (or refuse) and seed the shipped codons."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from sqlalchemy import text

from egp.config import DatabaseRole, Settings, display_url, normalise_database_url
from egp.genetic_code.codons import codon_registry, shipped_codon_files
from egp.migrations import current, upgrade
from egp.storage.schema import SchemaNotAtHeadError, not_at_head
from egp.storage.sql_pool import SQLGenePool


def database_uuid(url: str) -> UUID:
    """The database's identity from its meta row."""
    info = current(url)
    if info.database_uuid is None:
        raise SchemaNotAtHeadError(f"{display_url(url)} has no meta row; run `egp db upgrade --url ...`")
    return info.database_uuid


def prepare_database(url: str, settings: Settings, role: DatabaseRole | None = None) -> dict[str, Any]:
    """Bring the database to head (or refuse, naming `egp db upgrade`), then seed the shipped codons."""
    url = normalise_database_url(url)
    info = current(url)
    upgraded = False
    if not info.at_head:
        if not settings.dbmanager_auto_upgrade:
            raise not_at_head(url, info.revision, info.head)
        upgrade(url, role or settings.database_role, settings.creator)
        upgraded = True
    seeded = seed_codons(url, settings.creator)
    return {"url": display_url(url), "upgraded": upgraded, "codons_added": seeded}


def seed_codons(url: str, creator: UUID) -> int:
    """Store the shipped codons not stored yet and record each codon file in `sources`; returns how many."""
    pool = SQLGenePool(url)
    added = pool.put_many(list(codon_registry()))
    files = shipped_codon_files()
    with pool.transaction() as connection:
        for family in sorted(files):
            digest = hashlib.sha256(files[family].encode()).hexdigest()
            connection.execute(
                text(
                    "INSERT INTO sources (path, file_hash, creator, loaded)"
                    " VALUES (:path, :hash, :creator, :now)"
                    " ON CONFLICT (path, file_hash) DO NOTHING"
                ),
                {
                    "path": f"egp/genetic_code/data/codons/{family}.json",
                    "hash": digest,
                    "creator": creator if pool.postgres else creator.hex,
                    "now": pool.now(),
                },
            )
    return added


__all__ = ["database_uuid", "prepare_database", "seed_codons"]
