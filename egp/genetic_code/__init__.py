"""Genetic codes: the type system, the codon library, the GC model, signatures, JSON form and execution."""
