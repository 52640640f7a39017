"""`egp regress data.csv --target COLUMN`: fit a formula to a CSV table and report it with train/test R²."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from egp.cli import app
from egp.cli.evolve_cmd import MEMORY_POOL, Budget, RunTracker

if TYPE_CHECKING:
    from egp.engine.config import GenerationRecord


@app.command("regress")
def regress_command(
    data: Annotated[Path, typer.Argument(help="A CSV file: a header line, then one numeric row per line.")],
    target: Annotated[str, typer.Option(help="The column to predict; every other column is a feature.")],
    test_size: Annotated[float, typer.Option(help="Share of rows held out to report the test R².")] = 0.25,
    population: Annotated[int, typer.Option(help="Programs per island.")] = 500,
    generations: Annotated[int, typer.Option(help="Generation budget.")] = 100,
    max_time: Annotated[float | None, typer.Option(help="Wall-clock budget in seconds.")] = None,
    max_evaluations: Annotated[int | None, typer.Option(help="Evaluation budget.")] = None,
    functions: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated function set, e.g. add,sub,mul,div,sin (default: add,sub,mul,div,one)."
        ),
    ] = None,
    size_penalty: Annotated[float, typer.Option(help="Fitness subtracted per codon of a program.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Random seed (also splits the rows into train and test).")] = 0,
    gene_pool: Annotated[
        str | None, typer.Option(help="Gene Pool URL (default: EGP_GENE_POOL_URL; memory:// for none).")
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Use an empty in-memory Gene Pool and store nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit a formula for TARGET from the other columns of a CSV file; print it with train and test R²."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from egp.cli.csv_table import TableError, read_table, split_rows
    from egp.config import display_url, get_settings
    from egp.errors import EGPError

    if fresh:
        if gene_pool not in (None, MEMORY_POOL):
            raise EGPError("--fresh and --gene-pool: choose one (--fresh means --gene-pool memory://)")
        gene_pool = MEMORY_POOL
    pool_url = gene_pool if gene_pool is not None else get_settings().gene_pool_url
    function_set = None
    if functions is not None:
        function_set = [name.strip() for name in functions.split(",") if name.strip()]
        if not function_set:
            raise TableError("--functions names no function")
    from egp.engine.config import EvolutionConfig
    from egp.problems.base import ProblemError
    from egp.problems.tabular import function_codons

    # Settings first, so a mistake is reported before any work (and before the progress bar takes stderr).
    function_codons(function_set)
    EvolutionConfig(
        population=population,
        generations=generations,
        max_evaluations=max_evaluations,
        wall_seconds=max_time,
    ).check()
    table = read_table(data, target)
    train, test = split_rows(table.X.shape[0], test_size, seed)
    try:
        import sklearn  # noqa: F401
        import sympy  # noqa: F401
    except ImportError:
        raise EGPError("egp regress needs scikit-learn and sympy: pip install 'egp[sklearn]'") from None
    from egp.sklearn import EGPRegressor

    model = EGPRegressor(
        population=population,
        generations=generations,
        max_time=max_time,
        max_evaluations=max_evaluations,
        function_set=function_set,
        size_penalty=size_penalty,
        random_state=seed,
        gene_pool=pool_url,
    )
    tracker = RunTracker(Budget(generations, max_evaluations, max_time), time.monotonic())
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "gen {task.fields[generation]}  best r² {task.fields[best]:.4f}"
            "  evals {task.fields[evals]:,} ({task.fields[rate]:,.0f}/s)"
        ),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=as_json,
        transient=True,
    )
    with progress:
        task = progress.add_task(f"regress {target}", total=1.0, best=0.0, generation=0, evals=0, rate=0.0)

        def report(record: GenerationRecord) -> None:
            """Move the bar: best so far, evaluations per second, share of the binding budget."""
            progress.update(task, **tracker.update(record))

        try:
            model.fit(table.X[train], table.y[train], progress=report, feature_names=table.features)
        except (ValueError, ProblemError) as error:
            raise TableError(f"{data}: {error}") from None
    summary = _summary(model, table, train, test, display_url(pool_url), data, target)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"{target} = {summary['formula']}")
    typer.echo(
        f"train R² {summary['train_r2']:.4f}  test R² {summary['test_r2']:.4f}"
        f"  ({summary['train_rows']} / {summary['test_rows']} rows, {summary['evaluations']:,} evaluations,"
        f" {summary['seconds']:.1f} s)"
    )
    stored = "not stored (memory://)" if pool_url.startswith(MEMORY_POOL) else summary["gene_pool"]
    typer.echo(f"program {summary['program']} on problem {summary['problem']}: {stored}")


def _summary(
    model: Any, table: Any, train: Any, test: Any, pool: str, data: Path, target: str
) -> dict[str, Any]:
    """The fit's report as a JSON-ready dictionary."""
    return {
        "data": str(data),
        "target": target,
        "formula": model.expression_,
        "latex": model.latex_,
        "train_r2": float(model.score(table.X[train], table.y[train])),
        "test_r2": float(model.score(table.X[test], table.y[test])),
        "validation_r2": model.validation_score_,
        "train_rows": len(train),
        "test_rows": len(test),
        "features": list(table.features),
        "program": model.program_,
        "problem": model.problem_name_,
        "gene_pool": pool,
        "evaluations": model.evaluations_,
        "seconds": round(model.seconds_, 3),
        "source": model.source_,
    }
