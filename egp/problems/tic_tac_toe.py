"""EGP's own tic-tac-toe next-state problem (str -> str), fitness as in the domain spec §5.3."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache
from typing import Any

from egp.problems.base import Assessment, FitnessCases, Problem, object_column

#: The function set: None = any codon with compatible (str) types (data: align here when str codons exist).
TIC_TAC_TOE_CODONS: tuple[str, ...] | None = None

#: Characters valid in a state string.
VALID_CHARS: frozenset[str] = frozenset({" ", "X", "O"})
#: A state is 9 cells (row-major) followed by the player who moved last.
STATE_LENGTH = 10
#: The empty board: X moves first, so the "last player" is O.
INITIAL_STATE = " " * 9 + "O"
#: How many reachable non-terminal states are sampled as fitness cases, and the sampling seed.
SAMPLE_SIZE = 256
SAMPLE_SEED = 0
#: Solved when the mean case fitness and the fraction of exactly legal outputs both reach this.
SOLVED_THRESHOLD = 0.99

_LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2),
    (3, 4, 5),
    (6, 7, 8),
    (0, 3, 6),
    (1, 4, 7),
    (2, 5, 8),
    (0, 4, 8),
    (2, 4, 6),
)


def winner(state: str) -> str | None:
    """Return 'X' or 'O' if that player has three in a line, else None."""
    for a, b, c in _LINES:
        if state[a] != " " and state[a] == state[b] == state[c]:
            return state[a]
    return None


def is_terminal(state: str) -> bool:
    """Return True when the game in state is over (a win or a full board)."""
    return winner(state) is not None or " " not in state[:9]


def next_states(state: str) -> tuple[str, ...]:
    """Return every legal next state (empty when the game is over), in cell order."""
    if is_terminal(state):
        return ()
    player = "X" if state[9] == "O" else "O"
    cells = state[:9]
    return tuple(cells[:i] + player + cells[i + 1 :] + player for i in range(9) if cells[i] == " ")


@cache
def generate_state_graph() -> dict[str, tuple[str, ...]]:
    """Return every state reachable from the empty board mapped to its legal next states (terminals: ())."""
    graph: dict[str, tuple[str, ...]] = {}
    frontier = [INITIAL_STATE]
    while frontier:
        state = frontier.pop()
        if state in graph:
            continue
        successors = next_states(state)
        graph[state] = successors
        frontier.extend(s for s in successors if s not in graph)
    return graph


def distance(output: str, target: str) -> int:
    """Return the §5.3 distance from output to a legal state (10 chars).

    Per index < 10: 0 on a match, 1 for another valid char, 3 for an invalid char; each missing char 4;
    each extra char 2 if valid, 4 if invalid.
    """
    total = 0
    for index, char in enumerate(output[:STATE_LENGTH]):
        if char != target[index]:
            total += 1 if char in VALID_CHARS else 3
    total += 4 * max(0, STATE_LENGTH - len(output))
    total += sum(2 if char in VALID_CHARS else 4 for char in output[STATE_LENGTH:])
    return total


def case_fitness(state: str, output: Any) -> float:
    """Return 1/(1 + min distance to a legal next state); 0 for a non-str, unchanged or finished game."""
    if not isinstance(output, str) or output == state:
        return 0.0
    successors = next_states(state)
    if not successors:
        return 0.0
    return 1.0 / (1.0 + min(distance(output, s) for s in successors))


class TicTacToeNextState(Problem):
    """Tic-tac-toe next state: given a non-terminal state, output any legal next state."""

    name = "tic-tac-toe-next-state"
    version = "1"
    description = (
        "Tic-tac-toe next state (EGP Gen III): str(10) -> str(10), 9 cells of ' '/'X'/'O' then the last "
        "player; fitness = mean 1/(1 + min distance to a legal next state) over 256 sampled reachable "
        "non-terminal states; solved when the mean and the share of exactly legal outputs are >= 0.99"
    )
    inputs = ("str",)
    outputs = ("str",)
    codons = TIC_TAC_TOE_CODONS
    vectorised = False

    def make_cases(self) -> FitnessCases:
        """Sample SAMPLE_SIZE reachable non-terminal states (sorted, then Random(SAMPLE_SEED).sample)."""
        graph = generate_state_graph()
        non_terminal = sorted(state for state, successors in graph.items() if successors)
        sample = tuple(random.Random(SAMPLE_SEED).sample(non_terminal, SAMPLE_SIZE))
        return FitnessCases(inputs=(sample,), count=len(sample))

    def identity_data(self) -> tuple[Any, ...]:
        """Include the distance weights and the solved threshold in the identity."""
        return ("distance", 0, 1, 3, 4, 2, 4, "solved", SOLVED_THRESHOLD)

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Average the case fitnesses; solved when the mean and the exact-legal share reach 0.99."""
        cases = self.cases()
        states: tuple[str, ...] = cases.inputs[0]
        column = object_column(outputs[0], cases.count)
        scores = [case_fitness(state, output) for state, output in zip(states, column, strict=True)]
        mean = sum(scores) / cases.count
        exact = sum(1 for score in scores if score == 1.0) / cases.count
        return Assessment(mean, mean >= SOLVED_THRESHOLD and exact >= SOLVED_THRESHOLD)
