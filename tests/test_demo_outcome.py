"""The demo's account of a reactive run (examples/h2-cu111/outcome.py) on a trajectory written
here with known events: the fate of each molecule, when it dissociated, and the energy drift."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

DEMO = Path(__file__).resolve().parents[1] / "examples" / "h2-cu111"
sys.path.insert(0, str(DEMO))

import make_data  # noqa: E402
import outcome  # noqa: E402


def _frames():
    """Six frames, 5 fs apart: H2 #1 (split across the periodic boundary in y) separates at
    frame 3 and stays apart; #2 stretches to 2 Å at frame 2 and recombines; #3 flies back up;
    #4 stays intact where it is."""
    first = make_data.build()
    pairs = make_data.molecules(first)
    frames = []
    for f in range(6):
        atoms = first.copy()
        i, j = pairs[0]
        if f >= 3:
            atoms.positions[j, 1] += 1.2
        i, j = pairs[1]
        if f == 2:
            atoms.positions[j, 1] += 1.05
        atoms.positions[list(pairs[2]), 2] += 0.5 * f
        frames.append(atoms)
    return frames, pairs


def _write_dump(path, frames, every):
    with open(path, "w") as out:
        for f, atoms in enumerate(frames):
            lo, hi = atoms.positions.min(axis=0) - 1.0, atoms.positions.max(axis=0) + 1.0
            cell = np.diag(atoms.cell.array)
            out.write(f"ITEM: TIMESTEP\n{f * every}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n"
                      f"ITEM: BOX BOUNDS pp pp sm\n0 {cell[0]}\n0 {cell[1]}\n"
                      f"{lo[2]} {hi[2]}\nITEM: ATOMS id type element x y z\n")
            for k, (z, pos) in enumerate(zip(atoms.numbers, atoms.positions)):
                t, el = (2, "H") if z == 1 else (1, "Cu")
                out.write(f"{k + 1} {t} {el} {pos[0]} {pos[1]} {pos[2]}\n")


def test_fates_and_times():
    frames, pairs = _frames()
    result = outcome.fates(frames, pairs, [5.0 * f for f in range(6)])
    assert [e["fate"] for e in result] == ["dissociated", "intact", "scattered", "intact"]
    assert result[0]["time_fs"] == 15.0 and result[1]["time_fs"] is None
    assert abs(result[0]["final_hh"] - (make_data.BOND + 1.2)) < 1e-9
    assert abs(result[3]["final_hh"] - make_data.BOND) < 1e-9    # minimum image
    assert outcome.report(result, 25.0)[-1] == "1 of 4 molecules dissociated in 25 fs"


def test_command_line_on_a_dump_and_log(tmp_path):
    frames, _ = _frames()
    _write_dump(tmp_path / "traj.dump", frames, every=10)
    etot = [-100.0, -100.0, -99.99, -100.0, -100.02, -100.01]
    rows = "\n".join(f"{20 * k} {0.01 * k:.5f} -101.0 1.0 {etot[k]}" for k in range(6))
    (tmp_path / "log.lammps").write_text(
        "run 100\n   Step Time PotEng KinEng TotEng\n" + rows + "\nLoop time of 1.0\n")
    out = subprocess.run([sys.executable, str(DEMO / "outcome.py"), str(tmp_path / "traj.dump"),
                          str(tmp_path / "log.lammps")], cwd=DEMO, capture_output=True,
                         text=True, check=True).stdout
    assert "H2 #1 (atoms 48, 49): dissociated at 15 fs" in out
    assert "H2 #3 (atoms 52, 53): scattered back intact" in out
    assert "1 of 4 molecules dissociated in 25 fs" in out
    drift = 1000 * 0.02 / len(frames[0])
    assert f"= {drift:.2f} meV/atom over 6 thermo lines" in out
