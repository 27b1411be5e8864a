"""Fine-tuning with the family's own trainer, then export to a umlip model file.

SevenNet: ``sevenn train`` with the settings of sevenn's ``fine_tune`` preset (the SevenNet-0
architecture, Huber loss with delta 0.01, Adam with exponential decay 0.99, no stress for
slabs) except the learning rate: 0.001 instead of the preset's 0.004, which on a handful of
configurations overshoots (4 configurations, 8 epochs: energy RMSE 0.75 eV at 0.004, 0.10 eV
at 0.001, from 0.5 eV before; tests/families/test_finetune_train.py has the setup); ``continue`` from the shipped SevenNet-0 checkpoint with reset optimizer,
scheduler and epoch), run in the sevenn environment. Variant ``replay``: sevenn's rehearsal
(experience replay) of a memory set, here pseudo-labels of the base model on structures away
from the target (see :func:`replay_structures`), so that the fine-tuned model keeps the base
model's answers there. The DFT energies are first moved onto the base model's energy scale
by per-element shifts (:func:`align_to_base`). The checkpoint of the last epoch is exported with ``umlip export``
(whose self-check compares the file with sevenn's own calculator).

MACE (:func:`finetune_mace`): mace-torch's ``run_train --foundation_model`` on a mace-torch
model file, naive fine-tuning (one head, the foundation's E0s), the same energy alignment,
then ``umlip export`` (self-check against mace-torch's calculator). No MACE foundation
weights ship offline, so this path starts from a model built or trained here.
"""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from umlip.io import PathLike

#: base model name -> the checkpoint keyword sevenn's ``continue`` understands
SEVENN_CHECKPOINTS = {"7net-0": "SevenNet-0_11July2024", "7net-0_11jul2024": "SevenNet-0_11July2024"}
VARIANTS = ("plain", "replay")
#: sevenn writes a checkpoint every this many epochs (or every epoch when the epoch count is
#: not a multiple): an interrupted training resumes from the newest one (optimizer and
#: learning-rate schedule included)
CHECKPOINT_EVERY = 5
#: mace-torch's trainer options for naive fine-tuning of a foundation model file (the
#: foundation's own E0s; energy weight 10 instead of 1 next to the forces' 100: adsorption
#: energies and barriers are the target; the training file doubles as validation set, so
#: mace-torch keeps the epoch of lowest training loss)
MACE_TRAIN_ARGS = ("--E0s", "foundation", "--multiheads_finetuning", "False",
                   "--energy_key", "REF_energy", "--forces_key", "REF_forces",
                   "--energy_weight", "10", "--forces_weight", "100",
                   "--default_dtype", "float64", "--device", "cpu", "--batch_size", "4")


def labelled_atoms(records: Sequence[Dict[str, Any]], keys: Optional[Tuple[str, str]] = None):
    """ASE Atoms with the DFT energy and forces attached (SinglePointCalculator), or with
    ``keys`` = (info key, arrays key) as extxyz fields (mace-torch's REF_energy/REF_forces)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from umlip.io import atoms_from_record

    out = []
    for rec in records:
        atoms = atoms_from_record(rec)
        atoms.set_constraint()
        if keys:
            atoms.info[keys[0]] = float(rec["energy"])
            atoms.arrays[keys[1]] = np.array(rec["forces"], dtype=float)
        else:
            atoms.calc = SinglePointCalculator(atoms, energy=float(rec["energy"]),
                                               forces=np.array(rec["forces"], dtype=float))
        out.append(atoms)
    return out


def align_to_base(records: Sequence[Dict[str, Any]], base_model
                  ) -> Tuple[List[Dict[str, Any]], Dict[str, float]]:
    """The records with their energies moved onto the base model's energy scale, and the
    per-element shifts used [eV/atom].

    DFT codes differ in their energy zero per element (GPAW's PAW references are not VASP's,
    whose PBE energies the foundation model learnt): the labels differ from the model by
    about sum_el n_el mu_el even where the physics agrees. mu is the least-squares fit of
    E_DFT - E_base over the training set; subtracting it changes no energy difference with
    the same atoms on both sides (adsorption energies, barriers, reaction energies), only what
    the network would otherwise have to learn as an offset. Forces are unchanged."""
    from ase.data import chemical_symbols

    from umlip import UMLIPCalculator

    calc = UMLIPCalculator(base_model, dtype="float64")
    elements = sorted({int(z) for r in records for z in r["numbers"]})
    counts = np.array([[sum(1 for z in r["numbers"] if z == el) for el in elements]
                       for r in records], dtype=float)
    residual = []
    for atoms, rec in zip(labelled_atoms(records), records):
        atoms.calc = calc
        residual.append(float(rec["energy"]) - atoms.get_potential_energy())
    mu, *_ = np.linalg.lstsq(counts, np.array(residual), rcond=None)
    aligned = [dict(rec, energy=float(rec["energy"]) - float(c @ mu))
               for rec, c in zip(records, counts)]
    return aligned, {chemical_symbols[el]: float(m) for el, m in zip(elements, mu)}


def replay_structures(seed: int = 0) -> List:
    """General structures away from H2/Cu(111) for the replay memory: rattled bulk Cu (fcc,
    strained +-2 %), a Cu(100) slab, rattled diamond Si, and H2, H2O, CH4, CO molecules."""
    from ase.build import bulk, fcc100, molecule

    rng = np.random.default_rng(seed)
    out = []
    for strain in (0.98, 1.0, 1.02):
        a = bulk("Cu", "fcc", a=3.63 * strain, cubic=True).repeat(2)
        a.rattle(0.05, seed=int(rng.integers(1 << 30)))
        out.append(a)
    slab = fcc100("Cu", (2, 2, 4), a=3.63, vacuum=6.0)
    slab.rattle(0.05, seed=int(rng.integers(1 << 30)))
    out.append(slab)
    for strain in (0.99, 1.01):
        si = bulk("Si", "diamond", a=5.47 * strain, cubic=True)
        si.rattle(0.05, seed=int(rng.integers(1 << 30)))
        out.append(si)
    for name in ("H2", "H2O", "CH4", "CO"):
        m = molecule(name)
        m.center(vacuum=6.0)
        m.pbc = True
        m.rattle(0.02, seed=int(rng.integers(1 << 30)))
        out.append(m)
    return out


def pseudo_label(structures, base_model: str):
    """The structures with the base model's energy and forces attached."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from umlip import UMLIPCalculator

    calc = UMLIPCalculator(base_model, dtype="float64")
    out = []
    for a in structures:
        a = a.copy()
        a.calc = calc
        e, f = a.get_potential_energy(), a.get_forces()
        a.calc = SinglePointCalculator(a, energy=e, forces=f)
        out.append(a)
    return out


def sevenn_input(checkpoint: str, train_file: str, epochs: int, seed: int,
                 memory_file: Optional[str] = None, lr: float = 0.001) -> Dict[str, Any]:
    """sevenn's input.yaml (as a dict) for fine-tuning ``checkpoint`` on ``train_file``."""
    model = {
        "chemical_species": "Auto", "cutoff": 5.0, "channel": 128, "is_parity": False,
        "lmax": 2, "num_convolution_layer": 5,
        "irreps_manual": ["128x0e"] + ["128x0e+64x1e+32x2e"] * 4 + ["128x0e"],
        "weight_nn_hidden_neurons": [64, 64],
        "radial_basis": {"radial_basis_name": "bessel", "bessel_basis_num": 8},
        "cutoff_function": {"cutoff_function_name": "XPLOR", "cutoff_on": 4.5},
        "self_connection_type": "linear", "train_shift_scale": False,
        "train_denominator": False,
    }
    train = {
        "random_seed": int(seed), "is_train_stress": False, "epoch": int(epochs),
        "loss": "Huber", "loss_param": {"delta": 0.01},
        "optimizer": "adam", "optim_param": {"lr": float(lr)},
        "scheduler": "exponentiallr", "scheduler_param": {"gamma": 0.99},
        "force_loss_weight": 1.0, "per_epoch": math.gcd(CHECKPOINT_EVERY, int(epochs)),
        "error_record": [["Energy", "RMSE"], ["Force", "RMSE"], ["TotalLoss", "None"]],
        "continue": {"reset_optimizer": True, "reset_scheduler": True, "reset_epoch": True,
                     "checkpoint": checkpoint},
    }
    data = {"batch_size": 4, "data_format_args": {"index": ":"},
            "load_trainset_path": [train_file]}
    if memory_file:
        data.update(rehearsal=True, load_memory_path=[memory_file], mem_batch_size=4,
                    mem_ratio=1)
    return {"model": model, "train": train, "data": data}


def run_sevenn(config: Dict[str, Any], workdir: Path, log, last_epoch: int) -> Path:
    """Run ``sevenn train`` in the sevenn environment; the checkpoint of ``last_epoch``."""
    from umlip.families.envs import family_python

    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "input.yaml").write_text(json.dumps(config, indent=1))    # JSON is YAML
    python = family_python("sevenn")
    cmd = [python, "-m", "sevenn.main.sevenn", "train", "input.yaml", "-w", str(workdir)]
    with open(workdir / "sevenn.out", "a") as out:
        rc = subprocess.run(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        tail = (workdir / "sevenn.out").read_text().strip().splitlines()[-1:]
        raise RuntimeError(f"sevenn train failed (exit {rc}) in {workdir}: "
                           f"{tail[0] if tail else 'no output'}; see {workdir / 'sevenn.out'}")
    ckpt = workdir / f"checkpoint_{last_epoch}.pth"
    if not ckpt.is_file():
        found = sorted(p.name for p in workdir.glob("checkpoint_*.pth"))
        raise RuntimeError(f"sevenn train ended without {ckpt.name} in {workdir} "
                           f"(found: {', '.join(found) or 'none'})")
    log(f"sevenn train done: {ckpt}")
    return ckpt


def resume_point(workdir: Path, key: str, epochs: int) -> Tuple[int, float]:
    """(newest epoch with a checkpoint, wall time spent so far [s]) of an earlier training
    in ``workdir`` with the same ``key`` (configuration and data hashes), else (0, 0.0);
    the folder's checkpoints and preprocessed data are removed when the key differs."""
    state = workdir / "resume.json"
    old = json.loads(state.read_text()) if state.is_file() else {}
    done = sorted(int(p.stem.split("_")[1]) for p in workdir.glob("checkpoint_*.pth")
                  if p.stem.split("_")[1].isdigit())
    if old.get("key") != key:
        # another configuration or data: no checkpoint of it continues, and sevenn would
        # silently reuse its preprocessed graphs of the old training set
        for p in workdir.glob("checkpoint_*.pth"):
            p.unlink()
        shutil.rmtree(workdir / "sevenn_data", ignore_errors=True)
        return 0, 0.0
    done = [e for e in done if e <= epochs]
    return (done[-1], float(old.get("wall_time_s", 0.0))) if done else (0, 0.0)


def finetune_sevenn(base_model: str, records: Sequence[Dict[str, Any]], out: Path, *,
                    epochs: int, seed: int, variant: str = "plain", lr: float = 0.001,
                    log=print) -> Dict[str, Any]:
    """Fine-tune a shipped SevenNet model on labelled records and export it to ``out``;
    returns the run's provenance (also written next to ``out`` as JSON)."""
    from ase.io import write

    from umlip.families import export
    from umlip.io import file_sha256, payload_sha256, write_json

    if base_model not in SEVENN_CHECKPOINTS:
        raise ValueError(f"fine-tuning starts from a shipped SevenNet model: "
                         f"{', '.join(SEVENN_CHECKPOINTS)} (not {base_model!r})")
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    if not records:
        raise ValueError("no labelled configurations to fine-tune on")
    out = Path(out).resolve()
    work = out.with_name(out.stem + "_sevenn")
    work.mkdir(parents=True, exist_ok=True)
    aligned, shifts = align_to_base(records, base_model)
    train_file = work / "train.extxyz"
    write(train_file, labelled_atoms(aligned), format="extxyz")
    memory = None
    if variant == "replay":
        memory = work / "memory.extxyz"
        write(memory, pseudo_label(replay_structures(seed), base_model), format="extxyz")
    config = sevenn_input(SEVENN_CHECKPOINTS[base_model], str(train_file), epochs, seed,
                          str(memory) if memory else None, lr)
    key = payload_sha256([config, file_sha256(train_file),
                          file_sha256(memory) if memory else None])
    start, spent = resume_point(work, key, epochs)
    (work / "resume.json").write_text(json.dumps({"key": key, "wall_time_s": spent}))
    t0 = time.time()
    if start >= epochs:
        ckpt = work / f"checkpoint_{epochs}.pth"
        log(f"training finished earlier: {ckpt}")
    else:
        run_config = config
        if start:
            # the same run, interrupted: sevenn continues from its checkpoint with the
            # optimizer, schedule and epoch count it saved, for the epochs still to do
            log(f"resuming from epoch {start} of {epochs}")
            run_config = json.loads(json.dumps(config))
            run_config["train"].update({"continue": {
                "checkpoint": str(work / f"checkpoint_{start}.pth"), "reset_optimizer": False,
                "reset_scheduler": False, "reset_epoch": False}})
        try:
            ckpt = run_sevenn(run_config, work, log, epochs)
        finally:
            (work / "resume.json").write_text(json.dumps(
                {"key": key, "wall_time_s": spent + time.time() - t0}))
    export("sevenn", str(ckpt), str(out), name=f"{base_model}-ft")
    from umlip import engine

    content_hash = engine.Model(str(out)).content_hash
    prov = {"base_model": base_model, "variant": variant, "epochs": epochs, "seed": seed,
            "lr": lr, "energy_shift_per_element_eV": shifts,
            "n_train": len(records), "train_ids": [r.get("id") for r in records],
            "train_file_sha256": file_sha256(train_file),
            "memory_file_sha256": file_sha256(memory) if memory else None,
            "sevenn_input": config, "checkpoint": ckpt.name,
            "resumed_from_epoch": start or None,
            "wall_time_s": spent + (time.time() - t0 if start < epochs else 0.0),
            "model_file": out.name, "content_hash": content_hash}
    write_json(out.with_suffix(".json"), prov)
    return prov


def finetune_mace(base_model: PathLike, records: Sequence[Dict[str, Any]], out: Path, *,
                  epochs: int, seed: int, lr: float = 0.001, log=print) -> Dict[str, Any]:
    """Fine-tune a mace-torch model file (``.model``) on labelled records with mace-torch's
    own trainer (``run_train --foundation_model``, naive fine-tuning: one head, the
    foundation's E0s) in the mace environment, and export the result to ``out``."""
    from ase.io import write

    from umlip import engine
    from umlip.families import export
    from umlip.families.envs import family_python
    from umlip.io import file_sha256, write_json

    base_model = Path(base_model).resolve()
    if not base_model.is_file():
        raise ValueError(f"MACE fine-tuning starts from a mace-torch model file; "
                         f"{base_model} does not exist")
    if not records:
        raise ValueError("no labelled configurations to fine-tune on")
    out = Path(out).resolve()
    work = out.with_name(out.stem + "_mace")
    if work.exists():           # run_train resumes from checkpoints it finds in its work dir
        shutil.rmtree(work)
    work.mkdir(parents=True)
    base_file = export("mace", str(base_model), str(work / "base.pt"))
    aligned, shifts = align_to_base(records, base_file)
    train_file = work / "train.xyz"
    write(train_file, labelled_atoms(aligned, keys=("REF_energy", "REF_forces")),
          format="extxyz")
    args = ["--name", "ft", "--foundation_model", str(base_model), "--train_file",
            str(train_file), "--valid_file", str(train_file), "--max_num_epochs", str(epochs),
            "--lr", str(lr), "--seed", str(seed), "--work_dir", str(work), *MACE_TRAIN_ARGS]
    cmd = [family_python("mace"), "-m", "mace.cli.run_train", *args]
    t0 = time.time()
    with open(work / "mace.out", "w") as fh:
        rc = subprocess.run(cmd, cwd=work, stdout=fh, stderr=subprocess.STDOUT).returncode
    trained = work / "ft.model"
    if rc != 0 or not trained.is_file():
        tail = (work / "mace.out").read_text().strip().splitlines()[-1:]
        raise RuntimeError(f"mace-torch run_train failed (exit {rc}) in {work}: "
                           f"{tail[0] if tail else 'no output'}; see {work / 'mace.out'}")
    log(f"mace-torch run_train done: {trained}")
    export("mace", str(trained), str(out))
    prov = {"base_model": str(base_model), "base_model_sha256": file_sha256(base_model),
            "trainer": "mace-torch run_train", "variant": "plain", "epochs": epochs,
            "seed": seed, "lr": lr, "energy_shift_per_element_eV": shifts,
            "n_train": len(records), "train_ids": [r.get("id") for r in records],
            "train_file_sha256": file_sha256(train_file), "mace_args": args[2:],
            "wall_time_s": time.time() - t0, "model_file": out.name,
            "content_hash": engine.Model(str(out)).content_hash}
    write_json(out.with_suffix(".json"), prov)
    return prov
