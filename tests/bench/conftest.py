"""Fixtures of the benchmark tests: cheap calculators and reference directories."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "python" / "umlip" / "bench" / "data"

# Morse H-H and O-H (D eV, a 1/Å, r0 Å); H-H switched off in the O-H curve calculator
H2_MORSE = (4.7, 1.9, 0.74)
OH_MORSE = (4.6, 2.2, 0.97)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The repository's DFT reference directory (may hold only some files)."""
    return DATA_DIR


@pytest.fixture
def morse_calc():
    from umlip.bench.analytic import PairCalculator, morse

    return PairCalculator(morse({("H", "H"): H2_MORSE, ("O", "H"): OH_MORSE,
                                 ("O", "O"): (0.0, 1.0, 1.0)}), cutoff=30.0)


@pytest.fixture(scope="session")
def emt_refs(tmp_path_factory):
    """Reference dir whose h_cu111 / cu_adatom "DFT" is ASE's EMT (complete, incl. NEBs)."""
    from ase.calculators.emt import EMT
    from refdata import cu_adatom_payload, h_cu111_payload, write_ref

    d = tmp_path_factory.mktemp("emt_refs")
    write_ref(d, "h_cu111", h_cu111_payload(EMT(), 3.59))
    write_ref(d, "cu_adatom", cu_adatom_payload(EMT(), 3.59))
    return d


def spring_model(a: float = 3.6, k: float = 1.5):
    """fcc nearest-neighbour central springs (k eV/Å^2), equilibrium at lattice constant a."""
    from umlip.bench.analytic import PairCalculator, harmonic_spring

    rnn = a / np.sqrt(2)
    return PairCalculator(harmonic_spring(k, rnn), cutoff=0.5 * (rnn + a))
