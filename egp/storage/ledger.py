"""The epoch ledger of the SQL Gene Pool: an epoch's writes in one transaction, at most once, and the
island state (members, best fitness, stagnation) read back from it.

The ledger row `(job, island, epoch)` is written first in the epoch's transaction: a concurrent duplicate
waits on it, then sees the conflict and writes nothing, so statistics are never counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from egp.engine.gene_pool import EpochRecord, finite_or_zero
from egp.storage.gc_store import GCStore
from egp.storage.statistics import Statistics


class Ledger(GCStore, Statistics):
    """Epoch records, population members and island state."""

    def record_epoch(self, record: EpochRecord) -> bool:
        """Apply an epoch's writes atomically; False (nothing written) if that epoch was already recorded."""
        with self.transaction() as connection:
            written = self._record(connection, record)
        if written:
            self.remember(record.new_gcs)  # after the commit: the cache holds only stored GCs
        return written

    def record_epochs(self, records: Sequence[EpochRecord]) -> list[bool]:
        """Apply several epochs' writes in one transaction (e.g. every island's initial population), each
        at most once; returns which were written."""
        with self.transaction() as connection:
            written = [self._record(connection, record) for record in records]
        for record, done in zip(records, written, strict=True):
            if done:
                self.remember(record.new_gcs)
        return written

    def _record(self, connection: Connection, record: EpochRecord) -> bool:
        """One epoch's writes inside `connection`'s transaction; False if its ledger row exists."""
        if record.job is not None:
            # The ledger row first: a concurrent duplicate waits on it, then sees the conflict.
            inserted = connection.execute(
                text(
                    "INSERT INTO epochs (job, island, epoch, committed, best, stale, state)"
                    " VALUES (:job, :island, :epoch, :now, :best, :stale, :state)"
                    " ON CONFLICT (job, island, epoch) DO NOTHING"
                ),
                {
                    "job": record.job,
                    "island": record.island,
                    "epoch": record.epoch,
                    "now": self.now(),
                    "best": finite_or_zero(record.best),
                    "stale": record.stale,
                    "state": json.dumps(record.state) if record.state is not None else None,
                },
            ).rowcount
            if inserted == 0:
                return False
        self.put(connection, record.new_gcs, record.job, record.island, record.epoch)
        if record.problem_stats:
            self.ensure_problem(connection, record.problem, record.problem_name)
            self.add_stats(connection, record.problem, record.problem_stats)
        if record.pgc_stats:
            self.add_pgc_stats(connection, record.pgc_stats)
        job = record.job or ""
        connection.execute(
            text("DELETE FROM population_members WHERE job = :job AND island = :island"),
            {"job": job, "island": record.island},
        )
        members = list(dict.fromkeys(record.members))
        if members:
            connection.execute(
                text(
                    "INSERT INTO population_members (job, island, signature, position)"
                    " VALUES (:job, :island, :signature, :position)"
                ),
                [
                    {"job": job, "island": record.island, "signature": s, "position": k}
                    for k, s in enumerate(members)
                ],
            )
        return True

    def members(self, job: str | None, island: int) -> list[bytes]:
        """The population members last recorded for (job, island), in their recorded order."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT signature FROM population_members WHERE job = :job AND island = :island"
                    " ORDER BY position"
                ),
                {"job": job or "", "island": island},
            ).all()
        return [bytes(r[0]) for r in rows]

    def island_state(self, job: str, island: int) -> tuple[float, int]:
        """The island's best fitness and stale generations after its last recorded epoch ((-1, 0) if none)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT best, stale FROM epochs WHERE job = :job AND island = :island"
                    " ORDER BY epoch DESC LIMIT 1"
                ),
                {"job": job, "island": island},
            ).first()
        if row is None or row[0] is None:
            return -1.0, 0
        return float(row[0]), int(row[1] or 0)

    def epoch_state(self, job: str, island: int, epoch: int) -> dict[str, Any] | None:
        """The snapshot recorded with the island's latest epoch at or before `epoch` (None if none)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT state FROM epochs WHERE job = :job AND island = :island AND epoch <= :epoch"
                    " ORDER BY epoch DESC LIMIT 1"
                ),
                {"job": job, "island": island, "epoch": epoch},
            ).first()
        if row is None or row[0] is None:
            return None
        state = json.loads(row[0])
        if not isinstance(state, dict):
            raise ValueError(f"job {job} island {island}: the recorded snapshot is not an object")
        return state

    def epoch_recorded(self, job: str, island: int, epoch: int) -> bool:
        """True when the ledger holds (job, island, epoch)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text("SELECT 1 FROM epochs WHERE job = :job AND island = :island AND epoch = :epoch"),
                {"job": job, "island": island, "epoch": epoch},
            ).first()
        return row is not None


__all__ = ["Ledger"]
