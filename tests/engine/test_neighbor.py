"""The engine's cell-list neighbour search against ase.neighborlist.neighbor_list: identical
edge sets (i, j, S) on random triclinic cells, mixed periodicity and cells smaller than the
cutoff."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list

from umlip import engine


def _random_cell(rng, scale):
    while True:
        cell = rng.normal(size=(3, 3)) * 0.35 * scale + np.eye(3) * scale
        if abs(np.linalg.det(cell)) > 0.3 * scale**3:
            return cell


def _edge_set(i, j, S):
    return set(zip(i.tolist(), j.tolist(), map(tuple, np.asarray(S).tolist())))


CASES = []
for seed in range(12):
    pbc = [(True, True, True), (True, True, False), (False, True, False),
           (False, False, False)][seed % 4]
    scale = [3.0, 7.0, 11.0][seed % 3]   # 3 Å: thinner than the cutoff -> many images
    CASES.append((seed, pbc, scale))


@pytest.mark.parametrize("seed,pbc,scale", CASES)
def test_matches_ase(seed, pbc, scale):
    rng = np.random.default_rng(seed)
    cell = _random_cell(rng, scale)
    n = int(rng.integers(1, 40))
    frac = rng.random((n, 3)) * 1.4 - 0.2   # some atoms outside the cell on purpose
    atoms = Atoms(numbers=[1] * n, scaled_positions=frac, cell=cell, pbc=pbc)
    cutoff = float(rng.uniform(2.0, 6.0))
    i, j, S = engine.neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)
    ia, ja, Sa = neighbor_list("ijS", atoms, cutoff)
    ours, theirs = _edge_set(i, j, S), _edge_set(ia, ja, Sa)
    assert len(i) == len(ours), "duplicate edges"
    assert ours == theirs, (f"{len(ours - theirs)} extra, {len(theirs - ours)} missing edges "
                            f"(pbc={pbc}, cutoff={cutoff:.2f})")


def test_vectors_and_symmetry():
    rng = np.random.default_rng(99)
    cell = _random_cell(rng, 4.0)
    atoms = Atoms(numbers=[1] * 5, scaled_positions=rng.random((5, 3)), cell=cell, pbc=True)
    i, j, S = engine.neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 5.5)
    d = atoms.positions[j] - atoms.positions[i] + S @ cell
    assert np.all(np.linalg.norm(d, axis=1) < 5.5)
    assert _edge_set(i, j, S) == _edge_set(j, i, -S)   # full list: every edge both ways


def test_zero_cell_non_periodic():
    pos = np.array([[0.0, 0, 0], [1.0, 0, 0], [0, 2.5, 0], [10, 10, 10]])
    i, j, S = engine.neighbor_list(pos, np.zeros((3, 3)), np.array([False] * 3), 3.0)
    assert _edge_set(i, j, S) == {(0, 1, (0, 0, 0)), (1, 0, (0, 0, 0)), (0, 2, (0, 0, 0)),
                                  (2, 0, (0, 0, 0)), (1, 2, (0, 0, 0)), (2, 1, (0, 0, 0))}


@pytest.mark.parametrize("bad,match", [
    (dict(cutoff=-1.0), "cutoff"),
    (dict(cutoff=float("nan")), "cutoff"),
    (dict(pos_nan=True), "not finite"),
    (dict(duplicate=True), "same position"),
    (dict(zero_periodic_cell=True), "periodic"),
])
def test_bad_input(bad, match):
    pos = np.array([[0.0, 0, 0], [1.5, 0, 0]])
    cell = np.eye(3) * 4.0
    pbc = np.array([True, True, True])
    cutoff = bad.get("cutoff", 3.0)
    if bad.get("pos_nan"):
        pos[1, 2] = np.nan
    if bad.get("duplicate"):
        pos[1] = pos[0]
    if bad.get("zero_periodic_cell"):
        cell = np.zeros((3, 3))
    with pytest.raises(ValueError, match=match):
        engine.neighbor_list(pos, cell, pbc, cutoff)
