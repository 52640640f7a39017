"""Boolean problems: even parity and multiplexers over full truth tables (bool… -> bool)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from egp.problems.base import Assessment, FitnessCases, Problem, bool_column

#: Koza's even-parity function set as codon names (data: align with the final names here).
PARITY_CODONS: tuple[str, ...] = ("bool_and", "bool_or", "bool_nand", "bool_nor")
#: Koza's multiplexer function set (and, or, not, if) as codon names.
MULTIPLEXER_CODONS: tuple[str, ...] = ("bool_and", "bool_or", "bool_not", "bool_select")

BoolArray = npt.NDArray[np.bool_]


def truth_table(width: int) -> tuple[BoolArray, ...]:
    """Return the 2**width truth-table rows as width bool columns; column 0 is the high bit."""
    rows = np.arange(2**width, dtype=np.int64)
    columns = []
    for bit in range(width):
        column = ((rows >> (width - 1 - bit)) & 1).astype(np.bool_)
        column.setflags(write=False)
        columns.append(column)
    return tuple(columns)


class TruthTableProblem(Problem):
    """A Boolean function over a full truth table: fitness = fraction of rows correct, solved = all rows."""

    outputs = ("bool",)
    vectorised = True
    width: int

    @abstractmethod
    def expected(self, columns: tuple[BoolArray, ...]) -> BoolArray:
        """Return the target output column for the truth-table columns."""

    def make_cases(self) -> FitnessCases:
        """Build the full truth table and its target column."""
        columns = truth_table(self.width)
        target = np.ascontiguousarray(self.expected(columns), dtype=np.bool_)
        target.setflags(write=False)
        return FitnessCases(inputs=columns, count=2**self.width, targets=(target,))

    survivability = "niche"
    # Boolean functions built from two-input gates need room: parity and multiplexer runs solve far more often
    # when programs may grow to 128 codons and start at up to 64 than at the defaults (search benchmark).
    max_codons = 128
    initial_max_codons = 64

    def case_scores(self, outputs: Sequence[Any]) -> npt.NDArray[np.float64]:
        """1/rows for each row the output gets right, 0 elsewhere (each row is its own test group)."""
        cases = self.cases()
        correct = bool_column(outputs[0], cases.count) == cases.targets[0]
        scores: npt.NDArray[np.float64] = correct.astype(np.float64) / cases.count
        return scores

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """Score the fraction of rows where the output equals the target."""
        cases = self.cases()
        correct = int(np.count_nonzero(bool_column(outputs[0], cases.count) == cases.targets[0]))
        return Assessment(correct / cases.count, correct == cases.count)


class EvenParity(TruthTableProblem):
    """Even parity of n bools: True when an even number of inputs are True."""

    family = "even-parity"
    codons = PARITY_CODONS
    # Parity from and/or/nand/nor needs yet more room, and free neutral drift across its plateaus
    # (the search benchmark's figures are in benchmarks/README.md).
    max_codons = 192
    initial_max_codons = 96

    def expected(self, columns: tuple[BoolArray, ...]) -> BoolArray:
        """Return True where the number of True inputs is even."""
        ones = np.sum(np.stack(columns), axis=0)
        result: BoolArray = (ones % 2) == 0
        return result


class EvenParity3(EvenParity):
    """Even-3-parity over the 8-row truth table with Koza's function set (and, or, nand, nor)."""

    name = "even-parity-3"
    version = "1"
    description = "Even-3-parity: True if an even number of the 3 inputs are True; fitness: share of 8 rows"
    inputs = ("bool",) * 3
    width = 3
    parameters = (("n", 3),)
    # A stagnant island restarts from new material: a failing run fills its island with distinct programs
    # right on 7 of 8 rows (each missing a different row, none a mutation away from a solution), and after a
    # half reseed that elite out-selects the newcomers. Multiplexer-6 keeps the default: drift crosses its
    # plateaus, and a restart would throw that progress away (figures: benchmarks/README.md).
    reseed = 1.0


class EvenParity5(EvenParity):
    """Even-5-parity over the 32-row truth table with Koza's function set (and, or, nand, nor)."""

    name = "even-parity-5"
    version = "1"
    description = "Even-5-parity: True if an even number of the 5 inputs are True; fitness: share of 32 rows"
    inputs = ("bool",) * 5
    width = 5
    parameters = (("n", 5),)


class Multiplexer(TruthTableProblem):
    """A multiplexer: k address bits (low bit first) then 2^k data bits; output the addressed data bit."""

    family = "multiplexer"
    codons = MULTIPLEXER_CODONS
    address_bits: int = 2
    drift_growth = 0  # as multiplexer-6: drift only to programs no larger

    def expected(self, columns: tuple[BoolArray, ...]) -> BoolArray:
        """Return the data bit addressed by the address bits (a0 is the low bit)."""
        k = self.address_bits
        address = sum(
            (columns[b].astype(np.int64) << b for b in range(k)), np.zeros_like(columns[0], np.int64)
        )
        data = np.stack(columns[k:])
        result: BoolArray = data[address, np.arange(address.shape[0])]
        return result

    @classmethod
    def of(cls, address_bits: int) -> Multiplexer:
        """The multiplexer with `address_bits` address bits (K = k + 2^k inputs)."""
        size = address_bits + 2**address_bits
        made: type[Multiplexer] = type(
            f"Multiplexer{size}",
            (cls,),
            {
                "name": f"multiplexer-{size}",
                "description": f"{size}-multiplexer: {address_bits} address bits (low first), "
                f"{2**address_bits} data bits; output the addressed data bit; fitness = fraction of "
                f"{2**size} rows",
                "inputs": ("bool",) * size,
                "width": size,
                "address_bits": address_bits,
                "parameters": (("k", size),),
            },
        )
        return made()


class Multiplexer6(TruthTableProblem):
    """6-multiplexer: inputs (a0, a1, d0, d1, d2, d3); output d[a0 + 2·a1]; Koza's set (and, or, not, if)."""

    family = "multiplexer"
    parameters = (("k", 6),)

    name = "multiplexer-6"
    version = "1"
    description = (
        "6-multiplexer: inputs (a0, a1, d0, d1, d2, d3), output d[a0 + 2*a1]; fitness = fraction of 64 rows"
    )
    inputs = ("bool",) * 6
    codons = MULTIPLEXER_CODONS
    width = 6
    # Drift only to programs no larger: the multiplexer solves more often without the growth that unbounded
    # drift brings (figures: benchmarks/README.md).
    drift_growth = 0

    def expected(self, columns: tuple[BoolArray, ...]) -> BoolArray:
        """Return the data bit addressed by a0 (low bit) and a1 (high bit)."""
        address = columns[0].astype(np.int64) + 2 * columns[1].astype(np.int64)
        data = np.stack(columns[2:])
        result: BoolArray = data[address, np.arange(address.shape[0])]
        return result
