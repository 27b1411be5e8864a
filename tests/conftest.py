"""Shared fixtures: model files (the analytic model written with torch only, SevenNet-0 from the
sevenn wheel, a small mace-torch MACE) and
reference numbers from the families' own calculators, computed in their own environments."""
from __future__ import annotations

import pytest

from support.family import run_family


@pytest.fixture(scope="session")
def sevenn_model():
    """SevenNet-0 as a umlip model file (exported once into the cache from the sevenn wheel)."""
    from umlip.models import resolve

    return str(resolve("7net-0"))


@pytest.fixture(scope="session")
def mace_source(tmp_path_factory):
    """A small ScaleShiftMACE (H, C, O, Cu; 2 layers; float64) built by mace-torch itself."""
    path = tmp_path_factory.mktemp("mace") / "small.model"
    run_family("mace", ["-m", "umlip.families.mace", str(path), "--elements", "H", "C",
                        "O", "Cu", "--seed", "7"])
    return str(path)


@pytest.fixture(scope="session")
def mace_model(mace_source, tmp_path_factory):
    """The small MACE exported to a umlip model file."""
    from umlip.families import export

    out = tmp_path_factory.mktemp("mace_pt") / "small.pt"
    export("mace", mace_source, str(out))
    return str(out)


@pytest.fixture(scope="session")
def mace3_model(tmp_path_factory):
    """A small 3-layer ScaleShiftMACE (H, C, O, Cu; float64; seed 3) built by mace-torch and
    exported to a umlip model file (layered form)."""
    from umlip.families import export

    d = tmp_path_factory.mktemp("mace3")
    source = d / "small3.model"
    run_family("mace", ["-m", "umlip.families.mace", str(source), "--elements", "H", "C", "O",
                        "Cu", "--layers", "3", "--seed", "3"])
    return export("mace", str(source), str(d / "small3.pt"))


@pytest.fixture(scope="session")
def analytic_files(tmp_path_factory):
    """{"float64": path, "float32": path}: the analytic model (H, Cu; 4 Å; 2 layers; seed 0)
    exported with float64 and with float32 weights."""
    from support.analytic_cases import CUTOFF, LAYERS

    from umlip.families.analytic import export_analytic

    d = tmp_path_factory.mktemp("analytic")
    files = {}
    for dtype in ("float64", "float32"):
        files[dtype] = str(d / f"analytic_{dtype}.pt")
        export_analytic(files[dtype], ("H", "Cu"), cutoff=CUTOFF, num_layers=LAYERS,
                        dtype=dtype, seed=0)
    return files


@pytest.fixture(scope="session")
def analytic_model(tmp_path_factory):
    """The analytic model over H, C, O and Cu (cutoff 4 Å, 2 layers, float64): the model of
    the LAMMPS tests that check the pair style itself rather than a family."""
    from support.analytic_cases import CUTOFF, LAYERS

    from umlip.families.analytic import export_analytic

    path = str(tmp_path_factory.mktemp("analytic_hcocu") / "analytic_hcocu.pt")
    export_analytic(path, ("H", "C", "O", "Cu"), cutoff=CUTOFF, num_layers=LAYERS,
                    dtype="float64", seed=0)
    return path
