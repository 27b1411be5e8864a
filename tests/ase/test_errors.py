"""Bad input ends in one clear exception naming the problem."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ase import Atoms
from support.model_files import rewrite_metadata
from support.structures import bulk_cu, molecule_in_box

from umlip import UMLIPCalculator, engine


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        UMLIPCalculator(str(tmp_path / "nope.pt"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        engine.Model(str(tmp_path / "nope.pt"))


def test_unknown_name():
    with pytest.raises(ValueError, match="neither a model file nor a known model name"):
        UMLIPCalculator("7net-does-not-exist")


def test_corrupt_file(tmp_path, mace_model):
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ValueError, match="not a readable TorchScript archive"):
        UMLIPCalculator(str(bad))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(Path(mace_model).read_bytes()[:20000])
    with pytest.raises(ValueError, match="not a readable TorchScript archive"):
        UMLIPCalculator(str(truncated))


def test_non_contract_torchscript(tmp_path):
    class Plain(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    path = tmp_path / "plain.pt"
    torch.jit.script(Plain()).save(str(path))
    with pytest.raises(ValueError, match="not a umlip model"):
        UMLIPCalculator(str(path))


def test_contract_version_mismatch(tmp_path, mace_model):
    dst = tmp_path / "v2.pt"
    rewrite_metadata(mace_model, dst, lambda m: m.update(contract_version="2.0"))
    with pytest.raises(ValueError, match="contract version 2.0 is not supported"):
        UMLIPCalculator(str(dst))


def test_tampered_weights(tmp_path, mace_model):
    module = torch.jit.load(mace_model)
    extra = {"umlip.json": ""}
    torch.jit.load(mace_model, _extra_files=extra)
    with torch.no_grad():
        next(iter(module.parameters())).add_(1e-3)
    dst = tmp_path / "tampered.pt"
    torch.jit.save(module, str(dst), _extra_files=extra)
    with pytest.raises(ValueError, match="content-hash check"):
        UMLIPCalculator(str(dst))


@pytest.mark.parametrize("field,value", [("cutoff", 4.0), ("num_layers", 1),
                                         ("atomic_numbers", [1, 6, 8, 30])])
def test_tampered_metadata(tmp_path, mace_model, field, value):
    dst = tmp_path / "edited.pt"
    rewrite_metadata(mace_model, dst, lambda m: m.update({field: value}))
    with pytest.raises(ValueError, match="content-hash check"):
        UMLIPCalculator(str(dst))


def test_element_not_covered(mace_model):
    atoms = bulk_cu()
    atoms.numbers[3] = 26  # Fe: the test MACE covers H, C, O, Cu
    atoms.calc = UMLIPCalculator(mace_model)
    with pytest.raises(ValueError, match=r"element Fe \(Z=26\) is not covered.*H C O Cu"):
        atoms.get_potential_energy()


def test_nan_positions(mace_model):
    atoms = molecule_in_box()
    atoms.positions[2, 1] = np.nan
    atoms.calc = UMLIPCalculator(mace_model)
    with pytest.raises(ValueError, match="position of atom 2 is not finite"):
        atoms.get_potential_energy()


def test_atoms_on_top_of_each_other(mace_model):
    atoms = bulk_cu()
    atoms.positions[5] = atoms.positions[9]
    atoms.calc = UMLIPCalculator(mace_model)
    with pytest.raises(ValueError, match="atoms 5 and 9 are at the same position"):
        atoms.get_potential_energy()
    periodic_twin = bulk_cu()
    periodic_twin.positions[5] = periodic_twin.positions[9] + periodic_twin.cell[0]
    periodic_twin.calc = UMLIPCalculator(mace_model)
    with pytest.raises(ValueError, match="through a periodic image"):
        periodic_twin.get_potential_energy()


def test_stress_without_volume(mace_model):
    atoms = Atoms("CO", positions=[[0, 0, 0], [1.13, 0, 0]])  # no cell at all
    atoms.calc = UMLIPCalculator(mace_model)
    assert np.isfinite(atoms.get_potential_energy())
    from ase.calculators.calculator import PropertyNotImplementedError

    with pytest.raises(PropertyNotImplementedError, match="non-zero volume"):
        atoms.get_stress()


def test_bad_dtype_and_device(mace_model):
    with pytest.raises(ValueError, match="unknown dtype"):
        UMLIPCalculator(mace_model, dtype="float16")
    with pytest.raises(ValueError, match="device"):
        UMLIPCalculator(mace_model, device="tpu")
