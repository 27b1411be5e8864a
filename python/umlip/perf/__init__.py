"""Speed and memory benchmarks (not tests): each prints ratios measured side by side in one run.

    python -m umlip.perf.ase_calculator   # UMLIPCalculator vs the families' calculators
    python -m umlip.perf.lammps           # pair style vs raw model; ranks vs threads; ghost layer
    python -m umlip.perf.committee        # a committee of K models vs K separate runs
"""
