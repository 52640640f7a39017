"""`egp pool`: what the Gene Pool holds (counts per table, size on disk, top problems).

This module also adds the Gene Pool to the stores `egp gc show SIGNATURE` looks in (after the codon registry),
and the GC's lineage and statistics (gc_history) to what it reports; `egp pool gc` is an alias of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egp.cli import app, gc_cmd
from egp.cli.gc_cmd import GCHistory
from egp.config import display_url, get_settings
from egp.errors import EGPError
from egp.genetic_code.gc import GeneticCode

if TYPE_CHECKING:
    from egp.storage.sql_pool import SQLGenePool

# SQLAlchemy and the storage modules are imported inside the functions: `egp --help` need not load them.

pool_app = typer.Typer(help="Inspect the Gene Pool.", no_args_is_help=True)
app.add_typer(pool_app, name="pool")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def open_existing_pool(url: str | None = None) -> SQLGenePool:
    """The configured Gene Pool for reading; a one-line error if it does not exist or is not at head."""
    from egp.db import reported_errors, sqlite_file
    from egp.storage.sql_pool import SQLGenePool, check_schema

    url = url or get_settings().gene_pool_url
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise EGPError(f"no Gene Pool at {path}; `egp db upgrade` creates one, `egp evolve` fills it")
    with reported_errors(url):
        check_schema(url)
    return SQLGenePool(url)


def size_on_disk(pool: SQLGenePool) -> int:
    """Bytes the database takes on disk (Postgres: the database; SQLite: the file and its WAL)."""
    from sqlalchemy import text

    from egp.db import sqlite_file

    if pool.postgres:
        with pool.engine.connect() as connection:
            return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    path = sqlite_file(pool.url)
    if path is None:
        return 0
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def pool_stats(pool: SQLGenePool, top: int = 10) -> dict[str, Any]:
    """What `egp pool stats` reports."""
    from sqlalchemy import text

    with pool.engine.connect() as connection:
        problems = [
            {
                "problem": bytes(r[0]).hex(),
                "name": r[1],
                "gcs": int(r[2]),
                "evaluations": int(r[3] or 0),
                "best_fitness": float(r[4] or 0.0),
            }
            for r in connection.execute(
                text(
                    "SELECT s.problem, p.name, count(*), sum(s.fitness_count), max(s.fitness)"
                    " FROM gc_problem_stats s LEFT JOIN problems p ON p.identity = s.problem"
                    " GROUP BY s.problem, p.name ORDER BY count(*) DESC LIMIT :top"
                ),
                {"top": top},
            )
        ]
        codons = int(
            connection.execute(
                text("SELECT count(*) FROM genetic_codes WHERE codon_inline IS NOT NULL")
            ).scalar_one()
        )
        # A building block's reuse: how many stored GCs hold it as a direct sub-GC (codons excluded: every
        # program is made of them).
        blocks = [
            {"signature": bytes(r[0]).hex(), "reused_by": int(r[1]), "codons": int(r[2])}
            for r in connection.execute(
                text(
                    "SELECT u.sub, count(*), g.num_codons FROM"
                    " (SELECT gca AS sub FROM genetic_codes WHERE gca IS NOT NULL"
                    "  UNION ALL SELECT gcb FROM genetic_codes WHERE gcb IS NOT NULL) AS u"
                    " JOIN genetic_codes g ON g.signature = u.sub WHERE g.codon_inline IS NULL"
                    " GROUP BY u.sub, g.num_codons ORDER BY count(*) DESC, u.sub LIMIT :top"
                ),
                {"top": top},
            )
        ]
        families = [
            str(r[0]) for r in connection.execute(text("SELECT DISTINCT family FROM pgc_family_layers"))
        ]
    layers = {
        family: [
            {
                "layer": f.layer,
                "runs": f.runs,
                "share_above_half": round(f.above_half / f.pgcs, 4) if f.pgcs else None,
                "mean_fitness": round(f.fitness_total / f.pgcs, 4) if f.pgcs else None,
                "mean_evolvability": round(f.evolvability_total / f.pgcs, 4) if f.pgcs else None,
            }
            for f in pool.pgc_layer_figures(family)
        ]
        for family in sorted(families)
    }
    return {
        "url": display_url(pool.url),
        "counts": pool.counts(),
        "codons": codons,
        "size_bytes": size_on_disk(pool),
        "top_problems": problems,
        "building_blocks": blocks,
        "pgc_layers_by_family": layers,
    }


@pool_app.command("stats")
def stats_command(
    json_output: JsonOption = False,
    top: Annotated[int, typer.Option("--top", min=1, help="How many problems to list.")] = 10,
) -> None:
    """Show row counts per table, size on disk, the problems with the most scored GCs, the most reused
    building blocks and how each pGC layer performed per problem family."""
    from egp.db import reported_errors

    pool = open_existing_pool()
    with reported_errors(pool.url):
        report = pool_stats(pool, top)
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"{report['url']}  {report['size_bytes'] / 1e6:.1f} MB on disk")
    for table, rows in report["counts"].items():
        typer.echo(f"  {table:<20}{rows:>12,}")
    for problem in report["top_problems"]:
        typer.echo(
            f"  problem {problem['name'] or problem['problem']}: {problem['gcs']:,} GCs,"
            f" {problem['evaluations']:,} evaluations, best fitness {problem['best_fitness']:.4g}"
        )
    for block in report["building_blocks"]:
        typer.echo(
            f"  building block {block['signature']}: reused by {block['reused_by']:,} GCs,"
            f" {block['codons']} codons"
        )
    for family, layers in report["pgc_layers_by_family"].items():
        for layer in layers:
            typer.echo(
                f"  pGC layer {layer['layer']} on {family}: {layer['runs']} runs, share above 0.5"
                f" {layer['share_above_half']}, mean fitness {layer['mean_fitness']}"
            )


def _held(found: Mapping[bytes, tuple[GeneticCode, bool]], ref: bytes) -> dict[str, Any]:
    return {"signature": ref.hex(), "stored": ref in found, "archived": ref in found and found[ref][1]}


def gc_history(pool: SQLGenePool, gc: GeneticCode) -> dict[str, Any]:
    """A GC's lineage (ancestors, the pGC that made it, sub-GCs; archived ones too) and its statistics per
    problem and per pGC layer, as the pool holds them: what `egp gc show` reports."""
    from sqlalchemy import text

    from egp.engine.gene_pool import PgcStats, ProblemStats
    from egp.storage.sync import lookup_with_archive

    refs = {k: getattr(gc, k) for k in ("ancestora", "ancestorb", "pgc", "gca", "gcb")}
    known = lookup_with_archive(pool.url, [r for r in refs.values() if r is not None])
    lineage = {key: None if ref is None else _held(known, ref) for key, ref in refs.items()}
    problems: list[dict[str, Any]] = []
    layers: list[dict[str, Any]] = []
    with pool.engine.connect() as connection:
        for r in connection.execute(
            text(
                "SELECT s.problem, p.name, s.fitness_total, s.fitness_count, s.evolvability_total,"
                " s.evolvability_count, s.survivability, s.descendants"
                " FROM gc_problem_stats s LEFT JOIN problems p ON p.identity = s.problem"
                " WHERE s.signature = :s ORDER BY s.problem"
            ),
            {"s": gc.signature},
        ):
            stats = ProblemStats(float(r[2]), int(r[3]), float(r[4]), int(r[5]), float(r[6]), int(r[7]))
            problems.append(
                {
                    "problem": bytes(r[0]).hex(),
                    "name": r[1],
                    "fitness": stats.fitness,
                    "evaluations": stats.fitness_count,
                    "evolvability": stats.evolvability,
                    "evolvability_count": stats.evolvability_count,
                    "survivability": stats.survivability,
                    "descendants": stats.descendants,
                }
            )
        for r in connection.execute(
            text(
                "SELECT layer, fitness_total, fitness_count, evolvability_total, evolvability_count"
                " FROM pgc_stats WHERE signature = :s ORDER BY layer"
            ),
            {"s": gc.signature},
        ):
            pgc = PgcStats(float(r[1]), int(r[2]), float(r[3]), int(r[4]))
            layers.append(
                {
                    "layer": int(r[0]),
                    "fitness": pgc.fitness,
                    "uses": pgc.fitness_count,
                    "evolvability": pgc.evolvability,
                    "evolvability_count": pgc.evolvability_count,
                }
            )
    return {"lineage": lineage, "statistics": problems, "pgc_layers": layers}


def history_lines(record: Mapping[str, Any]) -> list[str]:
    """The human lines of a record's lineage and statistics (gc_history's keys), for both commands."""
    lines = []
    for key_name, ref in record["lineage"].items():
        if ref is not None:
            where = "archived" if ref["archived"] else ("stored" if ref["stored"] else "not held here")
            lines.append(f"  {key_name:<10}{ref['signature']}  ({where})")
    for row in record["statistics"]:
        lines.append(
            f"  problem {row['name'] or row['problem']}: fitness {row['fitness']:.4g}"
            f" over {row['evaluations']} evaluations, evolvability {row['evolvability']:.4g}"
            f" over {row['evolvability_count']}, survivability {row['survivability']:.3g},"
            f" descendants {row['descendants']}"
        )
    for row in record["pgc_layers"]:
        lines.append(
            f"  pGC layer {row['layer']}: fitness {row['fitness']:.4g} over {row['uses']} uses,"
            f" evolvability {row['evolvability']:.4g} over {row['evolvability_count']}"
        )
    return lines


@pool_app.command("gc", hidden=True)
def gc_command(
    signature: Annotated[str, typer.Argument(help="A 64-hex-digit signature.")],
    json_output: JsonOption = False,
) -> None:
    """Alias of `egp gc show SIGNATURE`, which shows the same lineage and statistics and the GC itself."""
    gc_cmd.show_command(signature, json_output)


class PoolStore(Mapping[bytes, GeneticCode]):
    """The configured Gene Pool as a read-only signature → GC mapping, opened on first use."""

    def __init__(self) -> None:
        self._pool: SQLGenePool | None = None
        self._absent = False

    def _open(self) -> SQLGenePool | None:
        from egp.db import sqlite_file

        if self._pool is None and not self._absent:
            url = get_settings().gene_pool_url
            path = sqlite_file(url)
            if path is not None and not path.exists():
                self._absent = True  # no pool file: nothing to find, and nothing to create
                return None
            self._pool = open_existing_pool(url)
        return self._pool

    def __getitem__(self, signature: bytes) -> GeneticCode:
        from egp.storage.sync import lookup_with_archive

        pool = self._open()
        if pool is None:
            raise KeyError(signature)
        gc = pool.get_many([signature]).get(signature)
        if gc is None:  # an archived GC (or sub-GC) stays readable
            held = lookup_with_archive(pool.url, [signature]).get(signature)
            gc = held[0] if held is not None else None
        if gc is None:
            raise KeyError(signature)
        return gc

    def history(self, gc: GeneticCode) -> GCHistory | None:
        """`egp gc show`'s lineage and statistics of `gc` from the pool; None when there is no pool."""
        from egp.db import reported_errors
        from egp.storage.sync import lookup_with_archive

        pool = self._open()
        if pool is None:
            return None
        with reported_errors(pool.url):
            held = lookup_with_archive(pool.url, [gc.signature]).get(gc.signature)
            record = {"archived": held is not None and held[1], **gc_history(pool, gc)}
        heading = "Gene Pool" + (" (archived)" if record["archived"] else "") + f": {display_url(pool.url)}"
        return GCHistory(record, [heading, *history_lines(record)])

    def __iter__(self) -> Iterator[bytes]:
        from sqlalchemy import text

        pool = self._open()
        if pool is None:
            return
        with pool.engine.connect() as connection:
            for row in connection.execute(text("SELECT signature FROM genetic_codes ORDER BY signature")):
                yield bytes(row[0])

    def __len__(self) -> int:
        pool = self._open()
        return 0 if pool is None else pool.counts()["genetic_codes"]


def pool_history(gc: GeneticCode) -> GCHistory | None:
    """The configured Gene Pool's lineage and statistics of `gc` (gc_cmd.GC_HISTORIES provider)."""
    return PoolStore().history(gc)


# `egp gc show SIGNATURE` looks in the stores of gc_cmd.GC_STORES in order; the Gene Pool comes after the
# codon registry, and adds the GC's lineage and statistics through gc_cmd.GC_HISTORIES (gc_cmd documents
# these extension points).
if PoolStore not in gc_cmd.GC_STORES:
    gc_cmd.GC_STORES.append(PoolStore)
if pool_history not in gc_cmd.GC_HISTORIES:
    gc_cmd.GC_HISTORIES.append(pool_history)
