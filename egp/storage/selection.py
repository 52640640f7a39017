"""Selection reads of the SQL Gene Pool: the best GCs and pGCs, survivability-weighted parents, and GCs
with a given interface.

Parent selection (`select_weighted`) reads a window of the `selection_window` most survivable GCs of the
problem by an index range scan (`problem, survivability`) and draws from it with the seeded RNG: cost is
O(window), independent of the pool's size. With at most `selection_window` scored GCs the draw is exactly
MemoryGenePool's; beyond it, the least survivable tail (which carries little weight) is not drawn.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sqlalchemy import text

from egp.genetic_code.gc import GeneticCode
from egp.storage.gc_store import GCStore
from egp.storage.rows import interface_key


class Selection(GCStore):
    """Reads that choose GCs: by fitness, by weighted draw, by interface."""

    def best(self, problem: bytes, limit: int) -> list[GeneticCode]:
        """Up to `limit` GCs with the highest fitness on `problem`, best first (ties by signature)."""
        if limit <= 0:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT s.signature FROM gc_problem_stats s"
                    " JOIN genetic_codes g ON g.signature = s.signature"
                    " WHERE s.problem = :problem ORDER BY s.fitness DESC, s.signature LIMIT :limit"
                ),
                {"problem": problem, "limit": limit},
            ).all()
        signatures = [bytes(r[0]) for r in rows]
        found = self.get_many(signatures)
        return [found[s] for s in signatures if s in found]

    def select_weighted_signatures(self, problem: bytes, count: int, seed: int) -> list[bytes]:
        """The signatures select_weighted draws: one index range read of the window, then a seeded draw."""
        if count <= 0:
            return []
        # The window is read by the (problem, survivability) index and handed back sorted by signature, as
        # MemoryGenePool draws: identical picks whenever the window holds every scored GC.
        query = (
            "SELECT signature, survivability FROM (SELECT signature, survivability FROM gc_problem_stats"
            " WHERE problem = {p} ORDER BY survivability DESC, signature DESC LIMIT {w}) AS top"
            " ORDER BY signature"
        )
        if self.postgres:
            # The hot path of every generation: a binary cursor skips text parsing of 32-byte keys.
            with self.engine.connect() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                with raw.cursor(binary=True) as cursor:
                    window = cursor.execute(
                        query.format(p="%s", w="%s"), (problem, self.selection_window)
                    ).fetchall()
                connection.rollback()
        else:
            with self.engine.connect() as connection:
                window = list(
                    connection.execute(
                        text(query.format(p=":problem", w=":window")),
                        {"problem": problem, "window": self.selection_window},
                    ).all()
                )
        if not window:
            return []
        signatures = [bytes(r[0]) for r in window]
        weights = [max(float(r[1]), 1e-12) for r in window]
        return random.Random(seed).choices(signatures, weights, k=count)

    def select_weighted(self, problem: bytes, count: int, seed: int) -> list[GeneticCode]:
        """`count` GCs scored on `problem` drawn (with replacement) with weight = survivability."""
        drawn = self.select_weighted_signatures(problem, count, seed)
        found = self.get_many(drawn)
        if len(found) == len(set(drawn)):
            return [found[s] for s in drawn]
        # Statistics without a stored GC (archived, or written apart from it): draw among stored ones only.
        with self.engine.connect() as connection:
            window = connection.execute(
                text(
                    "SELECT s.signature, s.survivability FROM gc_problem_stats s"
                    " JOIN genetic_codes g ON g.signature = s.signature WHERE s.problem = :problem"
                    " ORDER BY s.survivability DESC, s.signature DESC LIMIT :window"
                ),
                {"problem": problem, "window": self.selection_window},
            ).all()
        if not window:
            return []
        window = sorted(window, key=lambda r: bytes(r[0]))
        picks = random.Random(seed).choices(
            [bytes(r[0]) for r in window], [max(float(r[1]), 1e-12) for r in window], k=count
        )
        found = self.get_many(picks)
        return [found[s] for s in picks if s in found]

    def match_interface_signatures(
        self, inputs: Sequence[int], outputs: Sequence[int], limit: int, seed: int
    ) -> list[bytes]:
        """The signatures match_interface returns: a seeded random window of the interface index."""
        if limit <= 0:
            return []
        rng = random.Random(seed)
        # Signatures are uniform hashes: a window starting at a random signature is a random sample, read
        # as one range scan of the (interface_key, signature) index.
        start = rng.randbytes(32)
        key = interface_key(inputs, outputs)
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT signature FROM genetic_codes WHERE interface_key = :key AND signature >= :start"
                    " ORDER BY signature LIMIT :limit"
                ),
                {"key": key, "start": start, "limit": limit},
            ).all()
            if len(rows) < limit:
                rows = [
                    *rows,
                    *connection.execute(
                        text(
                            "SELECT signature FROM genetic_codes WHERE interface_key = :key"
                            " AND signature < :start ORDER BY signature LIMIT :limit"
                        ),
                        {"key": key, "start": start, "limit": limit - len(rows)},
                    ).all(),
                ]
        signatures = [bytes(r[0]) for r in rows]
        rng.shuffle(signatures)
        return signatures

    def match_interface(
        self, inputs: Sequence[int], outputs: Sequence[int], limit: int, seed: int
    ) -> list[GeneticCode]:
        """Up to `limit` stored GCs whose interface is exactly (inputs → outputs), seeded random order."""
        signatures = self.match_interface_signatures(inputs, outputs, limit, seed)
        found = self.get_many(signatures)
        return [found[s] for s in signatures if s in found]

    def best_pgcs(self, layer: int, limit: int) -> list[GeneticCode]:
        """Up to `limit` pGCs with the highest fitness at `layer`, best first."""
        if limit <= 0:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT signature FROM pgc_stats WHERE layer = :layer"
                    " ORDER BY fitness DESC, signature LIMIT :limit"
                ),
                {"layer": layer, "limit": 2 * limit},
            ).all()
        signatures = [bytes(r[0]) for r in rows]
        found = self.get_many(signatures)
        return [found[s] for s in signatures if s in found][:limit]


__all__ = ["Selection"]
