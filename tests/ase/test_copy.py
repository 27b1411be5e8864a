"""The calculator copies and pickles (NEB images, multiprocessing) and records what it ran."""
from __future__ import annotations

import copy
import pickle
import shutil

import numpy as np
import pytest
from ase.build import bulk

from umlip import UMLIPCalculator


def _results(calc, atoms):
    a = atoms.copy()
    a.calc = calc
    return a.get_potential_energy(), a.get_forces(), a.get_stress()


@pytest.fixture
def cu():
    a = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 1, 1)
    a.rattle(0.05, seed=3)
    return a


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "copy"])
def test_copy_and_pickle_round_trip(analytic_model, cu, how):
    calc = UMLIPCalculator(analytic_model, dtype="float64")
    e0, f0, s0 = _results(calc, cu)
    other = {"deepcopy": copy.deepcopy, "pickle": lambda c: pickle.loads(pickle.dumps(c)),
             "copy": lambda c: c.copy()}[how](calc)
    assert other.model is not calc.model          # its own engine model
    e1, f1, s1 = _results(other, cu)
    assert e1 == e0
    np.testing.assert_array_equal(f1, f0)
    np.testing.assert_array_equal(s1, s0)
    assert other.todict() == calc.todict()


def test_shallow_copy_shares_the_engine_model(analytic_model):
    calc = UMLIPCalculator(analytic_model)
    assert copy.copy(calc).model is calc.model


def test_neb_images(analytic_model, cu):
    """One calculator per image, made by copying; each gives the numbers of the original."""
    calc = UMLIPCalculator(analytic_model, dtype="float64")
    images = [cu.copy() for _ in range(4)]
    for k, im in enumerate(images):
        im.positions[0] += 0.05 * k
        im.calc = calc.copy() if k % 2 else copy.deepcopy(calc)
    for im in images:
        ref = _results(calc, im)
        assert im.get_potential_energy() == ref[0]
        np.testing.assert_array_equal(im.get_forces(), ref[1])


def test_changed_file_is_refused(analytic_files, analytic_model, tmp_path):
    path = tmp_path / "model.pt"
    shutil.copy(analytic_files["float64"], path)
    blob = pickle.dumps(UMLIPCalculator(str(path)))
    shutil.copy(analytic_model, path)
    with pytest.raises(ValueError, match="changed since the calculator loaded it"):
        pickle.loads(blob)


def test_todict_records_file_and_hash(analytic_model):
    calc = UMLIPCalculator(analytic_model)
    d = calc.todict()
    assert d["model_file"] == calc.model.path
    assert d["content_hash"] == calc.model.content_hash and d["content_hash"].startswith("sha256:")
