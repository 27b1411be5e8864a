"""Phonons: a nearest-neighbour spring fcc crystal has an analytic dispersion; phonopy run by
the task must reproduce it, and a reference made with the same springs must give zero error."""
from __future__ import annotations

import numpy as np
import pytest
from ase import units
from ase.build import bulk
from ase.data import atomic_masses, atomic_numbers

from support.validation_models import spring_model
from umlip.validation.systems import HSP
from umlip.validation.tasks.phonons import (PhononSettings, PhononTask, count_imaginary,
                                            freqs_at, make_phonopy, own_lattice_scale,
                                            supercell_forces)

A, K = 3.6, 1.5                                   # Å, eV/Å^2
M = atomic_masses[atomic_numbers["Cu"]]
THZ = units.fs * 1e3 / (2 * np.pi)                # sqrt(eV/Å^2/amu) -> THz


def analytic_thz(q_reduced: np.ndarray) -> np.ndarray:
    """fcc NN central springs: D(q) = k/m sum_d (1 - cos q.d) d d^T / |d|^2 (sorted, THz)."""
    prim = np.array(bulk("Cu", "fcc", a=A).cell)
    rec = 2 * np.pi * np.linalg.inv(prim).T
    ds = np.array([[s1, s2, 0] for s1 in (1, -1) for s2 in (1, -1)] +
                  [[s1, 0, s2] for s1 in (1, -1) for s2 in (1, -1)] +
                  [[0, s1, s2] for s1 in (1, -1) for s2 in (1, -1)], float) * A / 2
    out = []
    for q in np.atleast_2d(q_reduced) @ rec:
        dm = sum((1 - np.cos(q @ d)) * np.outer(d, d) / (d @ d) for d in ds) * K / M
        out.append(np.sqrt(np.clip(np.linalg.eigvalsh(dm), 0, None)) * THZ)
    return np.array(out)


def test_closed_form_at_X():
    f = analytic_thz(np.array(HSP["X"]))[0]
    assert f == pytest.approx(np.sqrt(np.array([4, 4, 8]) * K / M) * THZ)


def test_phonopy_with_springs_matches_analytic_dispersion():
    at = bulk("Cu", "fcc", a=A)
    uc = {"symbols": ["Cu"], "cell": np.array(at.cell).tolist(),
          "scaled_positions": [[0, 0, 0]]}
    ph = make_phonopy(uc, np.eye(3, dtype=int) * 3, None, is_plusminus=True)
    ph.forces = supercell_forces(ph, spring_model(A, K))
    ph.produce_force_constants()
    qs = np.concatenate([np.linspace(HSP["G"], HSP["X"], 7), np.linspace(HSP["X"], HSP["K"], 5),
                         np.linspace(HSP["G"], HSP["L"], 6), [[0.13, 0.27, 0.41]]])
    got = freqs_at(ph, qs)
    assert np.abs(got - analytic_thz(qs)).max() < 2e-4        # THz; 8 THz max frequency
    wrong = analytic_thz(qs) * np.sqrt(M / (M * 1.02))        # 2 % wrong mass must show
    assert np.abs(got - wrong).max() > 0.05


@pytest.fixture(scope="module")
def spring_refs(tmp_path_factory):
    from support.dft_data import phonon_material, write_ref

    d = tmp_path_factory.mktemp("ph_refs")
    write_ref(d, "phonons", {"Cu": phonon_material(spring_model(A, K), bulk("Cu", "fcc", a=A),
                                                   (np.eye(3, dtype=int) * 3).tolist(), None)})
    return d


def test_task_vs_spring_reference(spring_refs, tmp_path):
    t = PhononTask(settings=PhononSettings(materials=("Cu", "Si"), band_stride=2),
                   reference_dir=spring_refs, progress=False)
    res = t.run(spring_model(A, K))
    cu = res.materials["Cu"]
    m = cu["metrics"]
    # model == reference: identical displacements and forces -> zero error
    assert m["band_mae"] < 1e-9 and m["mesh_mae"] < 1e-9 and m["n_imaginary"] == 0
    assert m["reference_rebuild_max_dev"] < 1e-5
    # "auto" displacements (one sign) leave an O(u / r_nn) anharmonic error vs analytic
    got, exact = np.array(cu["band"]["dft"]), analytic_thz(np.array(cu["band"]["qpoints"]))
    assert np.abs(got - exact).max() < 0.01 * exact.max()
    # Si has no reference here: model-only phonons (springs: unstable diamond), flagged
    assert "dft" not in res.materials["Si"]["band"]
    assert res.materials["Si"]["setup"]["source"].startswith("defaults")
    assert len(t.plot(tmp_path)) == 2


def test_stiffer_springs_give_the_analytic_frequency_error(spring_refs):
    t = PhononTask(settings=PhononSettings(materials=("Cu",)), reference_dir=spring_refs,
                   progress=False)
    cu = t.run(spring_model(A, K * 1.21)).materials["Cu"]
    model, dft = np.array(cu["band"]["model"]), np.array(cu["band"]["dft"])
    assert model == pytest.approx(1.1 * dft, abs=1e-6)            # omega ~ sqrt(k)
    assert cu["metrics"]["band_mae"] == pytest.approx(0.1 * dft.mean(), rel=1e-6)


def test_imaginary_mode_counting():
    q = np.array([[0, 0, 0], [0.5, 0, 0], [0.25, 0.25, 0]])
    f = np.array([[-0.2, -0.01, 0.0, 5.0], [-0.3, 1.0, 2.0, 3.0], [0.1, 0.2, -0.04, 3.0]])
    n, fmin = count_imaginary(q, f, tol=0.05)
    assert n == 1 and fmin == pytest.approx(-0.3)       # Gamma acoustic modes ignored


def test_own_lattice_of_springs_is_their_rest_lattice():
    uc = {"symbols": ["Cu"], "cell": np.array(bulk("Cu", "fcc", a=A * 1.012).cell).tolist(),
          "scaled_positions": [[0, 0, 0]]}
    own = own_lattice_scale(spring_model(A, K), uc)
    assert own["scale"] == pytest.approx(1 / 1.012, abs=2e-4)
    with pytest.raises(ValueError, match="outside the fitted range"):
        own_lattice_scale(spring_model(A * 1.05, K), uc)


def test_phonons_at_the_model_own_lattice(spring_refs):
    """Springs of the reference's stiffness but 1 % longer rest length: at the reference's
    lattice they are compressed and the frequencies are off; at their own lattice they match."""
    t = PhononTask(settings=PhononSettings(materials=("Cu",)), reference_dir=spring_refs,
                   progress=False)
    m = t.run(spring_model(A * 1.01, K)).materials["Cu"]["metrics"]
    assert m["a_model"] == pytest.approx(A * 1.01, abs=1e-3) and m["a_dft"] == pytest.approx(A)
    assert m["mesh_mae_own_a0"] < 2e-3 < 0.02 < m["mesh_mae"]
    rows = {x.key: x for x in t.run(spring_model(A * 1.01, K)).summary()}
    assert rows["ph_Cu_mesh_mae_own_a0"].value == pytest.approx(m["mesh_mae_own_a0"])


def test_no_own_lattice_is_reported_not_fatal(spring_refs):
    """Springs whose rest lattice is 5 % longer have no minimum in the fitted 1 +- 3 % range:
    the material still reports its phonons at DFT's lattice, and says why the own-lattice row
    is empty."""
    t = PhononTask(settings=PhononSettings(materials=("Cu",)), reference_dir=spring_refs,
                   progress=False)
    res = t.run(spring_model(A * 1.05, K))
    m = res.materials["Cu"]["metrics"]
    assert "outside the fitted range" in m["own_lattice_error"] and m["mesh_mae"] > 0
    row = {x.key: x for x in res.summary()}["ph_Cu_mesh_mae_own_a0"]
    assert row.value is None and "no own lattice" in row.note
