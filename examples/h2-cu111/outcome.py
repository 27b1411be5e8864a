"""What happened to each H2 molecule of the demo, from its trajectory: dissociated (and when),
intact on the surface, or scattered back; and how well the run conserved energy.

    python outcome.py h2cu.lammpstrj log.lammps      (after `lmp -in in.h2cu`)

A molecule counts as dissociated once its H-H distance (minimum image) exceeds DISSOCIATED and
stays above it to the end of the trajectory; the H2 bond is 0.74 Å, and H atoms in neighbouring
hollow sites of Cu(111) are ~1.5-3 Å apart.
"""
from __future__ import annotations

import argparse

import numpy as np

from umlip.validation.md import energy_drift

DISSOCIATED = 1.6    # Å


def hh_distances(frames, pairs):
    """(frames, molecules) minimum-image H-H distances [Å]."""
    out = np.empty((len(frames), len(pairs)))
    for f, atoms in enumerate(frames):
        for m, (i, j) in enumerate(pairs):
            out[f, m] = atoms.get_distance(i, j, mic=True)
    return out


def fates(frames, pairs, times_fs):
    """One dict per molecule: fate ('dissociated', 'intact' or 'scattered'), the time [fs] at
    which it dissociated (None otherwise) and its final H-H distance [Å]."""
    d = hh_distances(frames, pairs)
    top = frames[0].positions[frames[0].numbers != 1, 2].max()
    start_height = [frames[0].positions[list(p), 2].mean() - top for p in pairs]
    result = []
    for m, pair in enumerate(pairs):
        above = d[:, m] > DISSOCIATED
        later_all = np.flip(np.logical_and.accumulate(np.flip(above)))
        entry = {"molecule": m + 1, "atoms": tuple(int(k) for k in pair),
                 "final_hh": float(d[-1, m]), "time_fs": None}
        if later_all[-1]:
            entry["fate"] = "dissociated"
            entry["time_fs"] = float(times_fs[int(np.argmax(later_all))])
        else:
            height = frames[-1].positions[list(pair), 2].mean() - top
            entry["fate"] = "scattered" if height > start_height[m] else "intact"
        result.append(entry)
    return result


def report(result, duration_fs):
    lines = []
    for e in result:
        what = (f"dissociated at {e['time_fs']:.0f} fs" if e["fate"] == "dissociated"
                else "intact near the surface" if e["fate"] == "intact"
                else "scattered back intact")
        lines.append(f"H2 #{e['molecule']} (atoms {e['atoms'][0]}, {e['atoms'][1]}): {what}; "
                     f"final H-H {e['final_hh']:.2f} Å")
    n = sum(e["fate"] == "dissociated" for e in result)
    lines.append(f"{n} of {len(result)} molecules dissociated in {duration_fs:.0f} fs")
    return lines


def thermo_column(log_text, name):
    """Values of one thermo column over the (single) run of a LAMMPS log."""
    values, header = [], None
    for line in log_text.splitlines():
        parts = line.split()
        if header is None:
            if name in parts and parts[:1] == ["Step"]:
                header = parts
            continue
        if line.startswith("Loop time"):
            break
        if len(parts) == len(header):
            try:
                values.append(float(parts[header.index(name)]))
            except ValueError:
                pass
    return values


def main():
    from ase.io import read

    from make_data import molecules

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dump", help="LAMMPS dump (custom, with id/element/x/y/z, sorted by id)")
    p.add_argument("log", help="the LAMMPS log of the same run (thermo: Step, Time, TotEng)")
    args = p.parse_args()
    frames = read(args.dump, index=":", format="lammps-dump-text")
    text = open(args.log, errors="replace").read()
    steps, time_ps = thermo_column(text, "Step"), thermo_column(text, "Time")
    dt_fs = 1000.0 * (time_ps[-1] - time_ps[0]) / (steps[-1] - steps[0])
    times = [a.info["timestep"] * dt_fs for a in frames]
    result = fates(frames, molecules(frames[0]), times)
    for line in report(result, times[-1]):
        print(line)
    etot = np.array(thermo_column(text, "TotEng")) / len(frames[0])
    drift = energy_drift(1000.0 * np.array(time_ps), etot)["max_abs_dev"]
    print(f"energy conservation (NVE): largest |E_tot - E_tot(0)| = {1000 * drift:.2f} "
          f"meV/atom over {len(etot)} thermo lines")


if __name__ == "__main__":
    main()
