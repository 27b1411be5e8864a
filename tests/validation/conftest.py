"""Fixtures of the validation-suite tests: cheap calculators and reference directories."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO / "python" / "umlip" / "validation" / "data"

from support.validation_models import H2_MORSE, OH_MORSE, spring_model  # noqa: F401


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The repository's DFT reference directory (may hold only some files)."""
    return DATA_DIR


@pytest.fixture
def morse_calc():
    from umlip.validation.analytic import PairCalculator, morse

    return PairCalculator(morse({("H", "H"): H2_MORSE, ("O", "H"): OH_MORSE,
                                 ("O", "O"): (0.0, 1.0, 1.0)}), cutoff=30.0)


@pytest.fixture(scope="session")
def emt_refs(tmp_path_factory):
    """Reference dir whose h_cu111 / cu_adatom "DFT" is ASE's EMT (complete, incl. NEBs)."""
    from ase.calculators.emt import EMT
    from support.dft_data import cu_adatom_payload, h_cu111_payload, write_ref

    d = tmp_path_factory.mktemp("emt_refs")
    write_ref(d, "h_cu111", h_cu111_payload(EMT(), 3.59))
    write_ref(d, "cu_adatom", cu_adatom_payload(EMT(), 3.59))
    return d
