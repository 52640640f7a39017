"""An embedded run: every island of a problem evolved in this process, epoch by epoch, on one Engine.

Each epoch starts with migration (each island takes the best few members its neighbour had at the end of the
previous epoch), then runs `run_island_epoch` for each island in turn — the same island epoch a distributed
job runs as one task. The islands share this process's Engine: its score book, its output cache and its pGC
pools (a job's islands each carry their own pGC pools from epoch to epoch instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from egp.engine.config import EvolutionConfig, EvolutionResult, GenerationRecord
from egp.engine.engine import Engine
from egp.engine.gene_pool import GenePool
from egp.engine.island_epoch import run_island_epoch
from egp.engine.population import Island, take_migrants
from egp.engine.relations import record_run_knowledge
from egp.engine.run_recorder import RunRecorder, generation_figures
from egp.problems.base import Problem


def evolve_problem(
    problem: Problem,
    config: EvolutionConfig,
    gene_pool: GenePool | None = None,
    *,
    progress: Callable[[GenerationRecord], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    job: str | None = None,
    recorder: RunRecorder | None = None,
) -> EvolutionResult:
    """Run evolution of `problem` until solved (or the target), a budget, the deadline, or cancel; tell
    `recorder` (if given) of the start, each island generation and the end."""
    if recorder is None:
        return _evolve(problem, config, gene_pool, progress, cancel, job, None)
    recorder.started(problem, config)
    try:
        result = _evolve(problem, config, gene_pool, progress, cancel, job, recorder)
    except KeyboardInterrupt:
        recorder.finished(None, "cancelled", "interrupted")
        raise
    except Exception as error:
        recorder.finished(None, "failed", f"{type(error).__name__}: {error}")
        raise
    recorder.finished(result, "finished", None)
    return result


def _evolve(
    problem: Problem,
    config: EvolutionConfig,
    gene_pool: GenePool | None,
    progress: Callable[[GenerationRecord], None] | None,
    cancel: Callable[[], bool] | None,
    job: str | None,
    recorder: RunRecorder | None,
) -> EvolutionResult:
    """The run itself (see evolve_problem)."""
    started = time.perf_counter()
    engine = Engine(problem, config, gene_pool, job=job)
    islands = [Island(index, engine.initial_population(index)) for index in range(config.islands)]
    history: list[GenerationRecord] = []

    def halted() -> bool:
        """The wall-clock budget is spent or the caller cancelled."""
        if config.wall_seconds is not None and time.perf_counter() - started >= config.wall_seconds:
            return True
        return cancel is not None and cancel()

    def on_generation(island: Island, _done: int) -> None:
        """Keep the island's figures after a generation, and pass them on."""
        record = generation_record(engine, island)
        history.append(record)
        if recorder is not None:
            recorder.generation(record, generation_figures(engine))
        if progress is not None:
            progress(record)

    epoch = 0
    generation = 0
    stop = engine.stop_now()
    while not stop and generation < config.generations:
        if epoch > 0:
            migrate(engine, islands)
        count = min(config.epoch_generations, config.generations - generation)
        for island in islands:
            run_island_epoch(
                engine,
                island,
                epoch,
                count,
                record_initial=epoch == 0,
                halt=halted,
                on_generation=on_generation,
            )
            stop = engine.stop_now() or halted()
            if stop:
                break
        generation = max(island.generation for island in islands)
        epoch += 1
    if epoch == 0:  # solved (or stopped) by the initial population: it is still the run's to keep
        for island in islands:
            run_island_epoch(engine, island, 0, 0, record_initial=True)
    record_run_knowledge(engine)
    best_sig = engine.best_signature()
    assert best_sig is not None
    best = engine.lookup(best_sig)
    score = engine.scores[best_sig]
    solved = score.solved if config.target is None else score.fitness >= config.target
    return EvolutionResult(
        problem=problem.name,
        solved=solved,
        best_fitness=score.fitness,
        best_signature=best_sig.hex(),
        best_source=engine.executor.source(best),
        best=best,
        evaluations=engine.evaluations,
        generations=generation,
        seconds=time.perf_counter() - started,
        history=history,
        offspring=engine.offspring,
        stillborn=engine.stillborn,
        score_cache_hits=engine.score_hits,
        output_cache_hit_rate=engine.evaluator.hit_rate,
        pgcs_evolved=engine.pgcs_evolved,
        profile=dict(engine.timing),
    )


def migrate(engine: Engine, islands: list[Island]) -> None:
    """Each island takes the best few members of the island before it (as they are now) in place of its
    weakest."""
    count = engine.config.migrants
    if len(islands) < 2 or count == 0:
        return
    emigrants = [island.members[:count] for island in islands]
    for index, island in enumerate(islands):
        take_migrants(engine, island, emigrants[index - 1])


def generation_record(engine: Engine, island: Island) -> GenerationRecord:
    """The island's figures after its latest generation, with the run's evaluations so far."""
    fitnesses = [engine.fitness(s) for s in island.members]
    offspring = engine.generation_offspring
    return GenerationRecord(
        generation=island.generation,
        best=max(fitnesses),
        mean=sum(fitnesses) / len(fitnesses),
        evaluations=engine.evaluations,
        stillborn_rate=engine.generation_stillborn / offspring if offspring else 0.0,
        distinct=len(set(island.members)),
        island=island.index,
    )
