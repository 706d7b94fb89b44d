"""Stocking: base-stock levels per part and location under time-based service targets.

Entry points: :func:`build_problem` (scenario + reach -> arrays), :func:`evaluate` (levels ->
predicted service), :func:`solve` (levels meeting the targets at low investment).
"""
