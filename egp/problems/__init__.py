"""Problems EGP evolves solutions for: the plug-in API, the shipped problems and the registry."""

from egp.problems.base import (
    TYPE_NAMES,
    Assessment,
    FitnessCases,
    Problem,
    ProblemError,
    bool_column,
    float_column,
    object_column,
    safe_assess,
    scalar_assess,
    scalar_outputs,
)
from egp.problems.boolean import EvenParity3, EvenParity5, Multiplexer6
from egp.problems.number_tree import NumberTree
from egp.problems.registry import ENTRY_POINT_GROUP, get_problem, list_problems, problem_names
from egp.problems.regression import KozaQuartic, KozaQuintic100k, Nguyen1, Nguyen5
from egp.problems.tic_tac_toe import TicTacToeNextState, generate_state_graph

__all__ = [
    "ENTRY_POINT_GROUP",
    "TYPE_NAMES",
    "Assessment",
    "EvenParity3",
    "EvenParity5",
    "FitnessCases",
    "KozaQuartic",
    "KozaQuintic100k",
    "Multiplexer6",
    "Nguyen1",
    "Nguyen5",
    "NumberTree",
    "Problem",
    "ProblemError",
    "TicTacToeNextState",
    "bool_column",
    "float_column",
    "generate_state_graph",
    "get_problem",
    "list_problems",
    "object_column",
    "problem_names",
    "safe_assess",
    "scalar_assess",
    "scalar_outputs",
]
