"""Fine-tuning through sevenn's own trainer (umlip.finetune.train) learns its labels, and the
command line refuses a training set without DFT labels in one line naming the recipe.

The labels here are synthetic, not DFT: SevenNet-0's own energies shifted by +0.5 eV per
configuration (0.25 eV per H atom) with its own forces, on four H2/Cu(111) configurations.
SevenNet-0's energy RMSE on them is 0.5 eV by construction; after 8 epochs it must be below
0.25 eV while the forces stay within 0.15 eV/Å of the labels (measured: 0.10 eV and
0.03 eV/Å)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from ase import Atoms
from ase.build import fcc111

from umlip import UMLIPCalculator
from umlip.io import atoms_to_record, write_json


def _configs():
    rng = np.random.default_rng(0)
    out = []
    for k in range(4):
        slab = fcc111("Cu", (2, 2, 3), a=3.64, vacuum=7.5)
        top = slab.positions[:, 2].max()
        c = np.array([*rng.uniform(0, 4, 2), top + rng.uniform(1.0, 2.5)])
        u = rng.normal(size=3)
        u /= np.linalg.norm(u)
        bond = rng.uniform(0.75, 1.6)
        atoms = slab + Atoms("H2", positions=[c - u * bond / 2, c + u * bond / 2])
        atoms.rattle(0.03, seed=k)
        out.append(atoms)
    return out


def _energy_rmse_and_force_max(calc, records):
    de, df = [], []
    for r in records:
        a = Atoms(numbers=r["numbers"], positions=r["positions"], cell=r["cell"], pbc=r["pbc"])
        a.calc = calc
        de.append(a.get_potential_energy() - r["energy"])
        df.append(np.abs(a.get_forces() - np.array(r["forces"])).max())
    return float(np.sqrt(np.mean(np.square(de)))), float(max(df))


def test_finetuning_learns_its_labels(sevenn_model, tmp_path):
    from umlip.finetune.train import finetune_sevenn

    base = UMLIPCalculator(sevenn_model, dtype="float64")
    records = []
    for k, atoms in enumerate(_configs()):
        atoms.calc = base
        rec = atoms_to_record(atoms, energy=atoms.get_potential_energy() + 0.5,
                              forces=atoms.get_forces())
        rec["id"] = f"c{k}"
        records.append(rec)
    rmse0, _ = _energy_rmse_and_force_max(base, records)
    assert abs(rmse0 - 0.5) < 1e-6
    out = tmp_path / "ft.pt"
    prov = finetune_sevenn("7net-0", records, out, epochs=8, seed=1,
                           log=lambda m: None)
    assert prov["n_train"] == 4 and prov["train_ids"] == ["c0", "c1", "c2", "c3"]
    assert json.loads((tmp_path / "ft.json").read_text())["content_hash"] == prov["content_hash"]
    rmse, fmax = _energy_rmse_and_force_max(UMLIPCalculator(str(out), dtype="float64"), records)
    assert rmse < 0.25, f"energy RMSE {rmse:.3f} eV after fine-tuning (0.5 before)"
    assert fmax < 0.15, f"forces moved {fmax:.3f} eV/Å away from the labels"


def test_train_without_labels_is_one_line(tmp_path):
    pool = {"schema": "umlip-finetune-pool/1", "base_model": {"name": "7net-0"},
            "configs": [{"id": "abc"}, {"id": "def"}], "rankings": {"fps:0": [1, 0]}}
    write_json(tmp_path / "pool.json", pool)
    proc = subprocess.run([sys.executable, "-m", "umlip", "finetune", "train",
                           str(tmp_path / "pool.json"), "--budget", "2", "-o",
                           str(tmp_path / "x.pt")], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "2 of the 2 configurations have no DFT label" in lines[0]
    assert "dft/finetune_labels.py" in lines[0] and "fps 0 2" in lines[0]
