"""The evolution engine: Gene Pool interface, statistics, evaluation, populations and `evolve`."""
