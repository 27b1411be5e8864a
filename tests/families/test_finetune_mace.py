"""Fine-tuning through mace-torch's own trainer (umlip.finetune.train.finetune_mace) reduces
the error on configurations it never saw.

Truth: the base model (a small ScaleShiftMACE built by mace-torch) plus 0.3 eV/Å x r(H-H)
(with its forces on the two H) plus 5 eV per configuration (removed by the per-element
alignment). Six H2/Cu(111) configurations are the training set, four others (another seed)
the held-out set; before fine-tuning the held-out force error is 0.3 eV/Å on the H atoms and
the energy spread that of 0.3 r(H-H); after 16 epochs the force error must be at most a third, the
energy spread at most half (six configurations teach forces better than energies). The
export inside finetune_mace checks the exported file against mace-torch's calculator."""
from __future__ import annotations

import json

from support.finetune_cases import (SLOPE, h2_cu111_configs, label_errors,
                                    synthetic_labels)

from umlip import UMLIPCalculator


def test_mace_finetuning_reduces_the_held_out_error(mace_source, mace_model, tmp_path):
    from umlip.finetune.train import finetune_mace

    base = UMLIPCalculator(mace_model, dtype="float64")
    train = synthetic_labels(h2_cu111_configs(6, 0), base)
    held_out = synthetic_labels(h2_cu111_configs(4, 1), base)
    spread0, f0 = label_errors(base, held_out)
    assert spread0 > 0.02 and abs(f0 - SLOPE) < 1e-6
    out = tmp_path / "ft.pt"
    prov = finetune_mace(mace_source, train, out, epochs=16, seed=1, lr=0.01, log=lambda m: None)
    assert prov["trainer"] == "mace-torch run_train" and prov["n_train"] == 6
    assert json.loads((tmp_path / "ft.json").read_text())["content_hash"] == prov["content_hash"]
    spread, fmax = label_errors(UMLIPCalculator(str(out), dtype="float64"), held_out)
    assert spread < spread0 / 2, f"held-out energy spread {spread:.3f} eV, {spread0:.3f} before"
    assert fmax < f0 / 3, f"held-out force error {fmax:.3f} eV/Å after, {f0:.3f} before"
