"""Helpers shared by the test suite and the benchmarks: building small family models and
computing reference numbers with the families' own ASE calculators (in their environments)."""
