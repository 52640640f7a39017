"""Cluster compatibility: workers and executors must run the codon registry the Gene Pool was built with."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from egp.config import Settings, display_url
from egp.db import get_engine
from egp.errors import EGPError
from egp.genetic_code.codons import codon_registry

# The `sources` row (path) that holds the hash of the codon registry the Gene Pool's GCs were made with.
REGISTRY_SOURCE = "egp:codon-registry"


class IncompatibleRegistryError(EGPError):
    """This process's codon files differ from those the Gene Pool was built with."""


def check_codon_registry(settings: Settings) -> str:
    """Record the codon registry hash in the Gene Pool on first start; refuse a different one afterwards."""
    ours = codon_registry().files_hash
    url = settings.gene_pool_url
    engine = get_engine(url)
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgres:
            connection.execute(text("LOCK TABLE sources IN SHARE ROW EXCLUSIVE MODE"))
        known = [
            row[0]
            for row in connection.execute(
                text("SELECT file_hash FROM sources WHERE path = :path"), {"path": REGISTRY_SOURCE}
            )
        ]
        if known and ours not in known:
            raise IncompatibleRegistryError(
                f"codon registry {ours[:16]} differs from the Gene Pool's {known[0][:16]}"
                f" ({display_url(url)}): this process ships different codon files; deploy the same EGP"
                " version everywhere"
            )
        if not known:
            connection.execute(
                text(
                    "INSERT INTO sources (path, file_hash, creator, loaded)"
                    " VALUES (:path, :hash, :creator, :now)"
                ),
                {
                    "path": REGISTRY_SOURCE,
                    "hash": ours,
                    "creator": settings.creator if postgres else settings.creator.hex,
                    "now": datetime.now(UTC)
                    if postgres
                    else datetime.now(UTC).replace(tzinfo=None).isoformat(" "),
                },
            )
    return ours


__all__ = ["REGISTRY_SOURCE", "IncompatibleRegistryError", "check_codon_registry"]
