"""The floor loop with EGP's per-offspring duties added in their leanest form: a lean core's ceiling.

`python -m benchmarks floor` reports this beside the bare floor, EGP and DEAP. It answers "if EGP's engine
were rewritten as a compact node table (option 1 of #4's notes), how fast could it be at best?": all the
issue asks EGP to do for each offspring is here, but as plain tuples and dictionaries, with none of EGP's
GeneticCode objects, connection graphs, embryos or executor:

- nodes are signed with their operator, children, ancestor *and the pGC that made them* (lineage), and carry
  an interface id that crossover must match (koza has one interface, so the check never fails: it is the
  cost of making it that is measured);
- mutation operators ("pGCs") are sequences of one to four primitives (subtree, crossover, point, insert,
  delete), each a full path rebuild, like EGP's multi-codon pGCs; one is chosen per offspring by the
  domain spec's 4/2/1 rule (effective for the parent's lineage, fitness > 0.5, the rest);
- Δ = child − parent fitness (−1 for a stillborn) updates the pGC's fitness (Δ/2 + 0.5) and evolvability
  (max(Δ, 0)) as totals and counts, rolls up the chain of pGCs that made it (four layers), and every eighth
  use a pGC is mutated by a layer-(d+1) pGC into a new one inheriting 0.75 of its statistics (pool of 20);
- the parent's evolvability and the child's first statistics are kept as totals and counts, with parental
  protection of the child's survivability;
- parents are drawn by survivability (pressure 16), survivors are the elite half plus the fittest
  offspring, one per behaviour first (behaviour = the output bytes), and every tenth generation the
  population's new nodes and statistics go to an epoch record, as EGP's `record_epoch` would write them.

Its search settings are EGP's defaults (population 500, elitism 0.5, selection pressure 16).
"""

from __future__ import annotations

import hashlib

from benchmarks.floor import _INPUT, _OPERATOR_NAMES, MAX_NODES, ContentAddressedLoop
from egp.engine.pgc_pool import PgcCategories, categorise_pgcs, choose_pgc
from egp.engine.survival import distinct_first

PRIMITIVES = ("subtree", "crossover", "point", "insert", "delete")
LAYERS = 4
EVOLVE_EVERY = 8
POOL_LIMIT = 20
MAX_STEPS = 4
PROTECTION = 0.75
INHERITANCE = 0.75
KOZA_INTERFACE = 0  # float -> float: every koza node has it

# Per layer and pGC: [fitness total, fitness count, evolvability total, evolvability count].
Stats = list[float]


class StillbornError(Exception):
    """An offspring over the size limit (EGP's stillborn)."""


class LeanLoop(ContentAddressedLoop):
    """The content-addressed floor plus EGP's per-offspring duties, on plain tuples and dictionaries."""

    def __init__(self, seed: int, population: int = 500, budget: int = 20_000) -> None:
        """A loop with bootstrap pGCs (one per primitive) at every layer."""
        super().__init__(seed, population, budget)
        self.interface: dict[bytes, int] = {_INPUT: KOZA_INTERFACE}
        self.steps: dict[bytes, tuple[str, ...]] = {}
        self.made_by: dict[bytes, bytes | None] = {}
        self.pools: list[list[bytes]] = []
        self.stats: list[dict[bytes, Stats]] = []
        for _ in range(LAYERS):
            bootstrap = [self._operator((name,), None) for name in PRIMITIVES]
            self.pools.append(bootstrap)
            self.stats.append({signature: [0.0, 0, 0.0, 0] for signature in bootstrap})
        self.categories: list[PgcCategories | None] = [None] * LAYERS
        self.effective: dict[bytes, tuple[bytes, ...]] = {}
        self.survivability: dict[bytes, float] = {}
        self.problem_stats: dict[bytes, list[float]] = {}  # fitness t/c, evolvability t/c, descendants
        self.behaviour: dict[bytes, bytes] = {}
        self.persisted: set[bytes] = {_INPUT}
        self.epoch_rows: list[tuple[bytes, tuple[bytes | None, bytes, bytes, int]]] = []
        self.pgc = b""
        self.offspring = 0
        self.evolved = [0] * LAYERS

    # -- nodes -------------------------------------------------------------------------------------------
    def node(self, operator: bytes, a: bytes, b: bytes, ancestor: bytes = b"") -> bytes:
        """The signature of operator(a, b) from `ancestor` made by the current pGC (stored if new)."""
        signature = hashlib.sha256(b"".join((operator, a, b, ancestor, self.pgc))).digest()
        if signature not in self.nodes:
            nodes = self.nodes
            self.nodes[signature] = (operator, a, b, nodes[a][3] + nodes[b][3] + 1)
            self.interface[signature] = KOZA_INTERFACE
        return signature

    def score(self, signature: bytes) -> tuple[float, bool]:
        """The floor's score, keeping the behaviour (output bytes) that survivor selection reads."""
        found = self.scores.get(signature)
        if found is None:
            found = super().score(signature)
            self.behaviour[signature] = self.outputs[signature].tobytes()
            self.survivability.setdefault(signature, found[0])
        return found

    # -- mutation primitives and pGCs ----------------------------------------------------------------------
    def _operator(self, steps: tuple[str, ...], maker: bytes | None) -> bytes:
        signature = hashlib.sha256("/".join(steps).encode() + (maker or b"")).digest()
        self.steps[signature] = steps
        self.made_by[signature] = maker
        return signature

    def _apply(self, step: str, root: bytes, donors: list[bytes]) -> bytes:
        rng = self.rng
        path, node = self.random_node(root)
        if step == "subtree":
            new = self.random_tree(rng.randint(0, 3))
        elif step == "crossover":
            _, new = self.random_node(donors[rng.randrange(len(donors))])
            if self.interface[new] != self.interface[node]:
                raise StillbornError
        elif step == "insert":
            new = self.node(
                _OPERATOR_NAMES[rng.randrange(4)], node, self.random_tree(rng.randint(0, 1)), node
            )
        else:
            operator, a, b, _ = self.nodes[node]
            if operator is None:
                raise StillbornError
            if step == "point":
                new = self.node(_OPERATOR_NAMES[rng.randrange(4)], a, b, node)
            else:  # delete: the node is replaced by one of its children
                new = a if rng.random() < 0.5 else b
        child = self.replace(path, new)
        if self.nodes[child][3] > MAX_NODES:
            raise StillbornError
        return child

    def _categorise(self, layer: int) -> PgcCategories:
        """EGP's own view of a layer's pool for the 4/2/1 choice, cached until a statistic changes."""
        found = self.categories[layer]
        if found is None:
            table = self.stats[layer]
            fitness_of = {s: table[s][0] / table[s][1] if table[s][1] else 0.5 for s in self.pools[layer]}
            found = self.categories[layer] = categorise_pgcs(fitness_of)
        return found

    def select(self, target: bytes, layer: int) -> bytes:
        """A pGC for `target` by EGP's own 4/2/1 rule: effective for its lineage, fitness > 0.5, the rest."""
        return choose_pgc(self._categorise(layer), self.effective.get(target), self.rng.random)

    def credit(self, pgc: bytes, delta: float) -> None:
        """Δ to the pGC and the chain that made it; evolve any that reached EVOLVE_EVERY uses."""
        signature: bytes | None = pgc
        layer = 0
        while signature is not None and layer < LAYERS:
            stats = self.stats[layer][signature]
            stats[0] += delta / 2 + 0.5
            stats[1] += 1
            stats[2] += delta if delta > 0 else 0.0
            stats[3] += 1
            self.categories[layer] = None
            if layer + 1 < LAYERS and stats[1] % EVOLVE_EVERY == 0:
                self.evolve(signature, layer)
            signature = self.made_by[signature]
            layer += 1

    def evolve(self, pgc: bytes, layer: int) -> None:
        """Mutate a pGC's primitive sequence with a layer-(d+1) pGC; the child inherits 0.75 of its stats."""
        mutator = self.select(pgc, layer + 1)
        rng = self.rng
        steps = list(self.steps[pgc])
        for edit in self.steps[mutator]:
            if edit in ("insert", "subtree") and len(steps) < MAX_STEPS:
                steps.insert(rng.randrange(len(steps) + 1), PRIMITIVES[rng.randrange(len(PRIMITIVES))])
            elif edit == "delete" and len(steps) > 1:
                del steps[rng.randrange(len(steps))]
            else:
                steps[rng.randrange(len(steps))] = PRIMITIVES[rng.randrange(len(PRIMITIVES))]
        child = self._operator(tuple(steps), mutator)
        if child in self.stats[layer]:
            return  # made before (and maybe retired since): no second start
        parent = self.stats[layer][pgc]
        fitness = parent[0] / parent[1] if parent[1] else 0.5
        evolvability = parent[2] / parent[3] if parent[3] else 0.0
        self.stats[layer][child] = [INHERITANCE * fitness * 2, 2, INHERITANCE * evolvability * 2, 2]
        pool = self.pools[layer]
        pool.append(child)
        self.evolved[layer] += 1
        if len(pool) > POOL_LIMIT:
            table = self.stats[layer]
            evolved = pool[len(PRIMITIVES) :]
            pool.remove(min(evolved, key=lambda s: (table[s][0] / max(table[s][1], 1), s)))
        self.categories[layer] = None

    # -- statistics, survivors and epochs ------------------------------------------------------------------
    def _stats(self, signature: bytes) -> list[float]:
        found = self.problem_stats.get(signature)
        if found is None:
            found = self.problem_stats[signature] = [0.0, 0, 0.0, 0, 0]
        return found

    def survivors(self, members: list[bytes], children: list[bytes]) -> list[bytes]:
        """The elite half of `members`, then the fittest children, one per behaviour first."""
        survivability, scores, nodes = self.survivability, self.scores, self.nodes

        def rank(signatures: list[bytes]) -> list[bytes]:
            return sorted(
                dict.fromkeys(signatures),
                key=lambda s: (-survivability[s], -scores[s][0], nodes[s][3], s),
            )

        ranked = rank(members)
        elite = ranked[: max(1, self.population // 2)]
        in_elite = set(elite)
        fresh = rank([s for s in children if s not in in_elite])
        ordered = [*elite, *fresh, *(s for s in ranked if s not in in_elite)]
        return distinct_first(ordered, fresh, self.behaviour.__getitem__)[: self.population]

    def record_epoch(self, members: list[bytes]) -> None:
        """Queue the members' new nodes (sub-nodes first) and their statistics, as an epoch commit would."""
        stack = [s for s in members if s not in self.persisted]
        pending: list[bytes] = []
        while stack:
            signature = stack.pop()
            if signature in self.persisted:
                continue
            self.persisted.add(signature)
            pending.append(signature)
            _, a, b, _ = self.nodes[signature]
            stack.extend(s for s in (a, b) if s not in self.persisted)
        self.epoch_rows.extend((s, self.nodes[s]) for s in reversed(pending))
        self.problem_stats = {s: v for s, v in self.problem_stats.items() if s in self.persisted}

    def run(self) -> tuple[int, bool]:
        """Evolve until solved or the budget is spent; return (evaluations, solved)."""
        rng = self.rng
        members: list[bytes] = []
        seen: set[bytes] = set()
        while len(members) < self.population:
            tree = self.random_tree(rng.randint(1, 6))
            if tree in seen:
                continue
            seen.add(tree)
            if self.score(tree)[1]:
                return self.evaluations, True
            members.append(tree)
        generation = 0
        while self.evaluations < self.budget:
            top = max(self.survivability[s] for s in members) or 1.0
            weights = [max(self.survivability[s] / top, 1e-9) ** 16.0 for s in members]
            parents = rng.choices(members, weights, k=self.population)
            children: list[bytes] = []
            pending: dict[bytes, tuple[bytes, ...]] = {}
            for parent in parents:
                parent_stats = self._stats(parent)
                pgc = self.select(parent, 0)
                self.pgc = pgc
                try:
                    child = parent
                    for step in self.steps[pgc]:
                        child = self._apply(step, child, members)
                except StillbornError:
                    delta = -1.0
                else:
                    fitness, solved = self.score(child)
                    if solved:
                        return self.evaluations, True
                    delta = fitness - self.scores[parent][0]
                    if child not in self.problem_stats:
                        protected = max(fitness, PROTECTION * self.survivability[parent])
                        self.survivability[child] = protected
                        self.problem_stats[child] = [fitness, 1, 0.0, 0, 0]
                        parent_stats[4] += 1
                    if delta > 0:
                        earlier = pending.get(parent) or self.effective.get(parent, ())
                        pending[child] = (pgc, *earlier[:1])
                    children.append(child)
                parent_stats[2] += delta if delta > 0 else 0.0
                parent_stats[3] += 1
                self.credit(pgc, delta)
                self.offspring += 1  # credited: the solving offspring returns above, uncredited
                if self.evaluations >= self.budget:
                    break
            self.effective.update(pending)
            members = self.survivors(members, children)
            generation += 1
            if generation % 10 == 0:
                self.record_epoch(members)
        return self.evaluations, False
