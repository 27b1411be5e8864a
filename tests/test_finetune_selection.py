"""Training sets for fine-tuning (umlip.finetune): the descriptor, the rankings (farthest-point
against a brute-force construction; seeded; nested budgets) and the refusals."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import fcc111

from umlip.finetune.pool import training_set
from umlip.finetune.sampling import descriptor, rank


def _slab_h2(x, y, height, bond, axis=(1.0, 0.0, 0.0)):
    slab = fcc111("Cu", (2, 2, 3), a=3.64, vacuum=7.5)
    top = slab.positions[:, 2].max()
    u = np.array(axis) / np.linalg.norm(axis)
    c = np.array([x, y, top + height])
    return slab + Atoms("H2", positions=[c - u * bond / 2, c + u * bond / 2])


def test_descriptor_uses_the_minimum_image():
    atoms = _slab_h2(0.1, 1.0, 1.5, 0.8)          # the H2 straddles the cell edge in x
    atoms.wrap()
    d = descriptor(atoms)
    assert abs(d[4] - 0.8) < 1e-9
    assert abs(d[0] - 1.5) < 1e-9 and abs(d[2] - 1.5) < 1e-9


def test_farthest_point_ranking_matches_brute_force():
    rng = np.random.default_rng(3)
    pool = [_slab_h2(*rng.uniform(0, 4, 2), rng.uniform(0.8, 3.5), rng.uniform(0.7, 3.0))
            for _ in range(15)]
    order = rank(pool, "fps", seed=5)
    assert sorted(order) == list(range(15))
    x = np.array([descriptor(a) for a in pool])
    x = x / x.std(axis=0)
    for k in range(1, 15):
        chosen = order[:k]
        mind = [min(np.linalg.norm(x[i] - x[j]) for j in chosen) for i in range(15)]
        assert mind[order[k]] == pytest.approx(max(mind), abs=1e-12)
    assert rank(pool, "fps", seed=5) == order                  # seeded
    assert sorted(rank(pool, "random", seed=1)) == list(range(15))
    assert rank(pool, "random", seed=1) != rank(pool, "random", seed=2)


def test_budgets_are_nested_and_refusals_name_the_problem():
    pool = {"configs": [{"id": f"c{i}"} for i in range(10)],
            "rankings": {"fps:0": [3, 1, 4, 0, 5, 9, 2, 6, 8, 7]}}
    small, large = training_set(pool, "fps", 0, 3), training_set(pool, "fps", 0, 8)
    assert small == ["c3", "c1", "c4"] and large[:3] == small
    with pytest.raises(ValueError, match="budget 11 is larger than the pool"):
        training_set(pool, "fps", 0, 11)
    with pytest.raises(ValueError, match="no ranking 'random:0'"):
        training_set(pool, "random", 0, 2)
    with pytest.raises(ValueError, match="unknown selection strategy"):
        rank([], "committee", 0)
