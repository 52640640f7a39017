"""Physics: the mutation primitives (shipped as pGC codons), stabilisation of embryos, and their context."""
