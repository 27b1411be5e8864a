"""Training sets for fine-tuning (umlip.finetune): the descriptor, the rankings (farthest-point
against a brute-force construction; seeded; nested budgets) and the refusals."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import fcc111

from umlip.finetune.pool import add_committee_ranking, training_set
from umlip.finetune.sampling import committee_rank, descriptor, rank
from umlip.io import atoms_to_record


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


def test_committee_ranking_prefers_disagreement_but_not_near_copies():
    a = _slab_h2(1.0, 1.0, 1.2, 1.3)
    a_copy = _slab_h2(1.0, 1.0, 1.21, 1.3)           # nearly the same frame
    far = _slab_h2(2.0, 1.5, 3.5, 0.75)              # H2 away from the surface
    mid = _slab_h2(1.5, 1.0, 2.0, 0.9)
    pool = [a, a_copy, far, mid]
    order = committee_rank(pool, [1.0, 0.9, 0.5, 0.2])
    assert order[:2] == [0, 2] and sorted(order) == [0, 1, 2, 3]
    assert committee_rank(pool, [0.1, 0.2, 0.9, 0.3])[0] == 2
    with pytest.raises(ValueError, match="one finite, non-negative deviation per configuration"):
        committee_rank(pool, [1.0, float("nan"), 0.5, 0.2])
    with pytest.raises(ValueError, match="one finite, non-negative deviation per configuration"):
        committee_rank(pool, [1.0, 0.5])


def test_committee_deviation_matches_numpy(tmp_path):
    from umlip import UMLIPCalculator
    from umlip.families.analytic import export_analytic

    files = []
    for seed in (0, 1, 2):
        files.append(str(tmp_path / f"m{seed}.pt"))
        export_analytic(files[-1], ("H", "Cu"), cutoff=4.0, num_layers=2, dtype="float64",
                        seed=seed)
    frames = [_slab_h2(1.0, 1.0, h, r) for h, r in ((1.0, 1.2), (2.5, 0.75), (0.8, 2.0))]
    pool = {"configs": [dict(atoms_to_record(f), id=f"c{i}") for i, f in enumerate(frames)],
            "rankings": {}}
    add_committee_ranking(pool, files)
    expected = []
    for f in frames:
        forces = []
        for m in files:
            f.calc = UMLIPCalculator(m, dtype="float64")
            forces.append(f.get_forces())
        forces = np.array(forces)
        sigma = np.sqrt(((forces - forces.mean(0)) ** 2).sum(-1).mean(0))
        expected.append(sigma.max())
    assert min(expected) > 1e-3
    np.testing.assert_allclose(pool["committee"]["max_devi_f"], expected, rtol=1e-10)
    assert sorted(pool["rankings"]["committee:0"]) == [0, 1, 2]
    assert pool["rankings"]["committee:0"][0] == int(np.argmax(expected))
    assert training_set(pool, "committee", 0, 2) == [f"c{i}" for i in
                                                      pool["rankings"]["committee:0"][:2]]
    add_committee_ranking(pool, [files[0], files[0]])
    assert max(pool["committee"]["max_devi_f"]) < 1e-12
    with pytest.raises(ValueError, match="no ranking 'committee:0'.*umlip finetune rank"):
        training_set({"configs": [], "rankings": {}}, "committee", 0, 1)
