"""The stocking solver's method names (a module of its own so that callers can validate a method
without importing the solvers)."""

METHODS = ("greedy", "exact")
"""``greedy``: column generation over per-part marginal analysis, any size; ``exact``:
enumeration and a multiple-choice knapsack MIP, small instances."""
