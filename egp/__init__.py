"""Erasmus Genetic Programming: evolve typed programs and the operators that mutate them."""

__version__ = "0.1.0"
