"""Fine-tuning through sevenn's own trainer (umlip.finetune.train) learns its labels, and the
command line refuses a training set without DFT labels in one line naming the recipe.

The labels here are synthetic, not DFT: SevenNet-0's own energies and forces on four
H2/Cu(111) configurations plus a term 0.3 eV/Å x r(H-H) (and its forces on the two H), plus
a constant 5 eV per configuration that the per-element alignment must remove. Before
fine-tuning, the spread of E_label - E_model over the configurations (the part no
per-element shift can absorb) is that of 0.3 r(H-H) and the force error is 0.3 eV/Å on the
H atoms; after 8 epochs both must be at most half of that."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from support.finetune_cases import (OFFSET, SLOPE, h2_cu111_configs, label_errors,
                                    synthetic_labels)

from umlip import UMLIPCalculator
from umlip.io import write_json


def test_finetuning_learns_its_labels(sevenn_model, tmp_path):
    from umlip.finetune.train import finetune_sevenn

    base = UMLIPCalculator(sevenn_model, dtype="float64")
    records = synthetic_labels(h2_cu111_configs(4, 0), base)
    spread0, f0 = label_errors(base, records)
    assert spread0 > 0.02 and abs(f0 - SLOPE) < 1e-6
    out = tmp_path / "ft.pt"
    prov = finetune_sevenn("7net-0", records, out, epochs=8, seed=1, log=lambda m: None)
    assert prov["n_train"] == 4 and prov["train_ids"] == ["c0", "c1", "c2", "c3"]
    assert json.loads((tmp_path / "ft.json").read_text())["content_hash"] == prov["content_hash"]
    shifts = prov["energy_shift_per_element_eV"]
    assert abs(12 * shifts["Cu"] + 2 * shifts["H"] - OFFSET - SLOPE * np.mean(
        [np.linalg.norm(np.subtract(*np.array(r["positions"])[-2:])) for r in records])) < 1e-6
    spread, fmax = label_errors(UMLIPCalculator(str(out), dtype="float64"), records)
    assert spread < spread0 / 2, f"energy spread {spread:.3f} eV after, {spread0:.3f} before"
    assert fmax < f0 / 2, f"force error {fmax:.3f} eV/Å after, {f0:.3f} before"

    # an interrupted training resumes from its newest checkpoint with the optimizer state
    # and learning-rate schedule it saved: the same model as the uninterrupted run (one
    # batch per epoch, so the shuffle order does not matter), to float32 rounding
    for epoch in (5, 6, 7, 8):          # as if the training had been stopped in epoch 5
        (tmp_path / "ft_sevenn" / f"checkpoint_{epoch}.pth").unlink()
    (tmp_path / "ft.pt").rename(tmp_path / "uninterrupted.pt")
    prov2 = finetune_sevenn("7net-0", records, out, epochs=8, seed=1, log=lambda m: None)
    assert prov2["resumed_from_epoch"] == 4 and prov["resumed_from_epoch"] is None
    one = UMLIPCalculator(str(tmp_path / "uninterrupted.pt"), dtype="float64")
    two = UMLIPCalculator(str(out), dtype="float64")
    from umlip.io import atoms_from_record
    for rec in records:
        a, b = atoms_from_record(rec), atoms_from_record(rec)
        a.calc, b.calc = one, two
        assert abs(a.get_potential_energy() - b.get_potential_energy()) < 1e-4
        assert np.abs(a.get_forces() - b.get_forces()).max() < 1e-4


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
