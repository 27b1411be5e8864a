"""Consistency of what the engine returns, independent of any family code:
forces = -dE/dx (central differences), stress = strain derivative of the energy / V,
translation / rotation / permutation invariance, per-atom energies sum to the energy."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from support.structures import slab_h2, small_cell, triclinic

from umlip import UMLIPCalculator


@pytest.fixture(scope="module", params=["mace", "sevenn"])
def calc(request, mace_model, sevenn_model):
    model = mace_model if request.param == "mace" else sevenn_model
    return UMLIPCalculator(model, dtype="float64")


def _energy(calc, atoms):
    atoms = atoms.copy()
    atoms.calc = calc
    return atoms.get_potential_energy()


@pytest.mark.parametrize("make", [triclinic, slab_h2, small_cell])
def test_forces_are_minus_gradient(calc, make):
    atoms = make()
    atoms.calc = calc
    forces = atoms.get_forces()
    h = 1e-4
    rng = np.random.default_rng(0)
    for a in rng.choice(len(atoms), size=min(4, len(atoms)), replace=False):
        for k in range(3):
            p, m = atoms.copy(), atoms.copy()
            p.positions[a, k] += h
            m.positions[a, k] -= h
            fd = -(_energy(calc, p) - _energy(calc, m)) / (2 * h)
            # central difference error ~ h^2 |E'''| + round-off 1e-12/h: both < 1e-6 here
            assert abs(fd - forces[a, k]) < 1e-5, (a, k, fd, forces[a, k])


@pytest.mark.parametrize("make", [triclinic, small_cell])
def test_stress_is_strain_derivative(calc, make):
    atoms = make()
    atoms.calc = calc
    stress = atoms.get_stress(voigt=False)
    volume = atoms.get_volume()
    h = 1e-5
    for a, b in [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]:
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = h / 2 if a != b else h
        vals = []
        for sign in (1, -1):
            s = atoms.copy()
            s.set_cell(atoms.cell.array @ (np.eye(3) + sign * eps), scale_atoms=True)
            vals.append(_energy(calc, s))
        deriv = (vals[0] - vals[1]) / (2 * h) / volume
        assert abs(deriv - stress[a, b]) < 1e-6, (a, b, deriv, stress[a, b])


def test_invariances(calc):
    atoms = triclinic()
    atoms.calc = calc
    e0, f0, ei0 = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_potential_energies()

    t = atoms.copy()
    t.positions += np.array([0.37, -1.91, 2.53])
    assert abs(_energy(calc, t) - e0) < 1e-9

    rot = Rotation.from_euler("zyx", [31.0, -47.0, 12.0], degrees=True).as_matrix()
    r = atoms.copy()
    r.set_cell(atoms.cell.array @ rot.T)
    r.positions = atoms.positions @ rot.T
    r.calc = calc
    assert abs(r.get_potential_energy() - e0) < 1e-9
    assert np.max(np.abs(r.get_forces() - f0 @ rot.T)) < 1e-8

    perm = np.random.default_rng(1).permutation(len(atoms))
    p = atoms[perm]
    p.calc = calc
    assert abs(p.get_potential_energy() - e0) < 1e-9
    assert np.max(np.abs(p.get_forces() - f0[perm])) < 1e-9
    assert np.max(np.abs(p.get_potential_energies() - ei0[perm])) < 1e-9
    assert abs(ei0.sum() - e0) < 1e-9


def test_float32_close_to_float64(sevenn_model):
    atoms = slab_h2()
    a32, a64 = atoms.copy(), atoms.copy()
    a32.calc = UMLIPCalculator(sevenn_model, dtype="float32")
    a64.calc = UMLIPCalculator(sevenn_model, dtype="float64")
    assert a32.calc.model.dtype == "float32" and a64.calc.model.dtype == "float64"
    assert abs(a32.get_potential_energy() - a64.get_potential_energy()) / len(atoms) < 1e-4
    assert np.max(np.abs(a32.get_forces() - a64.get_forces())) < 2e-3
