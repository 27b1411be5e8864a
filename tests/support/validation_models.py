"""Cheap analytic models with known answers, shared by the benchmark tests."""
from __future__ import annotations

import numpy as np

# Morse H-H and O-H (D eV, a 1/Å, r0 Å); H-H switched off in the O-H curve calculator
H2_MORSE = (4.7, 1.9, 0.74)
OH_MORSE = (4.6, 2.2, 0.97)


def spring_model(a: float = 3.6, k: float = 1.5):
    """fcc nearest-neighbour central springs (k eV/Å^2), equilibrium at lattice constant a."""
    from umlip.validation.analytic import PairCalculator, harmonic_spring

    rnn = a / np.sqrt(2)
    return PairCalculator(harmonic_spring(k, rnn), cutoff=0.5 * (rnn + a))
