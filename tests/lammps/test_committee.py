"""A committee of model files in pair style umlip against the ASE calculator's committee
(UMLIPCalculator([m0, m1, ...])) on analytic models (umlip.families.analytic, H C O Cu; seeds
differ, one member has a shorter cutoff, so the pair style's per-model edge filter matters):

- forces and energy (m0's, or the mean with ``drive mean``), the per-atom force deviation
  (fix pair ... devi_f), and the out file's columns (max/min/avg force deviation, virial and
  energy deviation) equal the ASE committee's, float64 to 1e-8, at 1, 2 and 3 MPI ranks in the
  graph, layer and replicate modes, on a triclinic cell, a slab and a box with an empty rank;
- a committee of one file three times has zero deviation; members over other elements are
  refused;
- ``uncertainty_threshold X stop`` stops on the first step whose largest force deviation
  (recomputed by ASE from the dumped trajectory) exceeds X, and ``warn`` warns on that step.
"""
from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from ase import Atoms
from ase.io import write
from support.analytic_cases import empty_rank, slab, triclinic
from support.lmp_input import lmp_command, run_input

from umlip import UMLIPCalculator, engine
from umlip.families.analytic import export_analytic

ELEMENTS = ("H", "C", "O", "Cu")
STRUCTURES = {"triclinic": triclinic, "slab": slab, "empty_rank": empty_rank}

INPUT = """units metal
boundary {boundary}
atom_style atomic
{processors}
read_data {data}
pair_style umlip {pair}
pair_coeff * * {elements}
neighbor 1.0 bin
compute st all pair umlip
fix devi all pair 1 umlip devi_f 0
thermo_style custom step pe c_st[13] c_st[14] c_st[15] c_st[16]
thermo_modify format float %.15g
dump d all custom 1 {out}/dump.{tag} id type x y z fx fy fz f_devi
dump_modify d sort id format float %.15g
{run}
"""


@pytest.fixture(scope="module")
def committee(tmp_path_factory):
    """Four analytic files: seeds 0, 1, 2 at cutoff 4 Å, seed 3 at cutoff 3.5 Å."""
    d = tmp_path_factory.mktemp("committee")
    files = []
    for seed, cutoff in ((0, 4.0), (1, 4.0), (2, 4.0), (3, 3.5)):
        path = str(d / f"m{seed}.pt")
        export_analytic(path, ELEMENTS, cutoff=cutoff, num_layers=2, seed=seed)
        files.append(path)
    return files


def write_data(tmp_path, atoms):
    data = tmp_path / "system.data"
    species = sorted({a.symbol for a in atoms}, key=lambda s: ELEMENTS.index(s))
    write(data, atoms, format="lammps-data", masses=True, units="metal", specorder=species)
    return data, species


def read_dump(path):
    frames, lines, k = [], path.read_text().splitlines(), 0
    while k < len(lines):
        if lines[k].startswith("ITEM: TIMESTEP"):
            step = int(lines[k + 1])
            n = int(lines[k + 3])
            start = next(q for q in range(k, len(lines)) if lines[q].startswith("ITEM: ATOMS"))
            rows = np.array([[float(x) for x in ln.split()] for ln in
                             lines[start + 1:start + 1 + n]])
            frames.append((step, rows))
            k = start + 1 + n
        else:
            k += 1
    return frames


def read_devi(path):
    rows = [ln.split() for ln in path.read_text().splitlines() if not ln.startswith("#")]
    return {int(r[0]): np.array([float(x) for x in r[1:]]) for r in rows}


def run_case(tmp_path, atoms, pair, ranks, tag, run="run 0", processors=""):
    data, species = write_data(tmp_path, atoms)
    boundary = " ".join("p" if p else "f" for p in atoms.pbc)
    log = run_input(tmp_path, tag, INPUT.format(
        boundary=boundary, processors=processors, data=data, pair=pair,
        elements=" ".join(species), out=tmp_path, tag=tag, run=run), ranks)
    return log, read_dump(tmp_path / f"dump.{tag}")


def ase_committee(files, atoms, **kwargs):
    atoms = atoms.copy()
    atoms.calc = UMLIPCalculator(files, **kwargs)
    atoms.get_forces()
    return atoms.calc.results


def test_deviation_formulas_against_numpy():
    rng = np.random.default_rng(5)
    forces = rng.normal(size=(7, 4, 3))               # atoms, models, xyz
    mean = forces.mean(axis=1, keepdims=True)
    sigma = np.sqrt(((forces - mean) ** 2).sum(axis=2).mean(axis=1))
    np.testing.assert_allclose(engine.force_deviation(forces), sigma, rtol=1e-14)
    virials = rng.normal(size=(4, 3, 3))
    std = virials.reshape(4, 9).std(axis=0) / 7
    hi, lo, rms = engine.virial_deviation(virials, 7)
    assert np.isclose(hi, std.max()) and np.isclose(lo, std.min())
    assert np.isclose(rms, np.linalg.norm(std) / 3)
    assert np.isclose(engine.committee_std(np.array([1.0, 2.0, 4.0])), np.std([1.0, 2.0, 4.0]))
    assert engine.force_deviation(np.repeat(forces[:, :1], 3, axis=1)).max() == 0.0


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2, 3])
@pytest.mark.parametrize("ghost", ["graph", "layer", "replicate"])
@pytest.mark.parametrize("structure", sorted(STRUCTURES))
def test_lammps_committee_matches_ase(tmp_path, committee, structure, ghost, ranks):
    if ghost == "layer" and ranks == 1 and structure != "triclinic":
        pytest.skip("layer at one rank is covered once (triclinic)")
    atoms = STRUCTURES[structure]()
    processors = "processors * 1 1" if structure == "empty_rank" else ""
    m0, *rest = committee
    pair = (f"{m0} dtype float64 ghost {ghost} committee {' '.join(rest)} "
            f"out_file {tmp_path}/devi.out out_freq 1")
    log, frames = run_case(tmp_path, atoms, pair, ranks, "c", processors=processors)
    rows = frames[0][1]
    order = np.argsort(rows[:, 0])
    rows = rows[order]
    ref = ase_committee(committee, atoms)
    # LAMMPS atoms in the data file's order (ids 1..N)
    np.testing.assert_allclose(rows[:, 5:8], ref["forces"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(rows[:, 8], ref["forces_std"], rtol=0, atol=1e-8)
    devi = read_devi(tmp_path / "devi.out")[0]
    md = ref["model_devi"]
    expected = [md["max_devi_v"], md["min_devi_v"], md["avg_devi_v"], md["max_devi_f"],
                md["min_devi_f"], md["avg_devi_f"], md["devi_e"]]
    np.testing.assert_allclose(devi, expected, rtol=0, atol=1e-8)
    assert md["max_devi_f"] > 1e-3      # the members really differ
    # compute pair umlip: max, min, avg force deviation and devi_e
    thermo = next(ln for ln in log.splitlines()[1:] if ln.split()[:1] == ["0"])
    np.testing.assert_allclose([float(x) for x in thermo.split()[2:6]],
                               expected[3:], rtol=0, atol=1e-8)


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2])
def test_drive_mean_and_identical_members(tmp_path, committee, ranks):
    atoms = triclinic()
    m0 = committee[0]
    _, frames = run_case(tmp_path, atoms, f"{m0} committee {m0} {m0} out_file "
                         f"{tmp_path}/same.out", ranks, "same")
    assert np.abs(frames[0][1][:, 8]).max() == 0.0
    assert np.abs(read_devi(tmp_path / "same.out")[0]).max() == 0.0
    _, frames = run_case(tmp_path, atoms, f"{m0} ghost graph committee {' '.join(committee[1:])} "
                         f"drive mean", ranks, "mean")
    mean = np.mean([ase_committee([f], atoms)["forces"] for f in committee], axis=0)
    np.testing.assert_allclose(frames[0][1][:, 5:8], mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ase_committee(committee, atoms, drive="mean")["forces"], mean,
                               rtol=0, atol=1e-12)


def test_members_over_other_elements_are_refused(tmp_path, committee):
    other = str(tmp_path / "hcu.pt")
    export_analytic(other, ("H", "Cu"), cutoff=4.0, num_layers=2, seed=7)
    atoms = triclinic()
    data, species = write_data(tmp_path, atoms)
    inp = tmp_path / "in.bad"
    inp.write_text(INPUT.format(boundary="p p p", processors="", data=data,
                                pair=f"{committee[0]} committee {other}",
                                elements=" ".join(species), out=tmp_path, tag="bad",
                                run="run 0"))
    proc = subprocess.run(lmp_command(inp), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "committee models must cover the same elements" in proc.stdout + proc.stderr
    with pytest.raises(ValueError, match="same elements"):
        UMLIPCalculator([committee[0], other])


DIMER_RUN = """velocity all set 0.0 0.0 0.0
group a id 1
group b id 2
velocity a set 0.05 0.0 0.0 units box
velocity b set -0.05 0.0 0.0 units box
fix 1 all nve
timestep 0.5
run 64"""


@pytest.mark.parametrize("ranks", [1, 2])
def test_threshold_stops_on_the_first_step_above_it(tmp_path, committee, ranks):
    """Two Cu atoms 7 Å apart flying at each other (0.1 Å/fs closing speed): beyond the 4 Å
    cutoff all models give zero force, so the deviation is zero until they come within range,
    then grows. The threshold step is found by ASE from the dumped trajectory."""
    atoms = Atoms("Cu2", positions=[[5.0, 6.0, 6.0], [12.0, 6.0, 6.0]], cell=[20.0, 12.0, 12.0],
                  pbc=True)
    m0, m1 = committee[0], committee[1]
    threshold = 0.05
    log, frames = run_case(tmp_path, atoms, f"{m0} committee {m1} uncertainty_threshold "
                           f"{threshold} warn", ranks, "warn", run=DIMER_RUN)
    sigma = []
    for step, rows in frames:
        rows = rows[np.argsort(rows[:, 0])]
        a = Atoms("Cu2", positions=rows[:, 2:5], cell=atoms.cell, pbc=True)
        sigma.append((step, ase_committee([m0, m1], a)["forces_std"].max(), rows[:, 8].max()))
    first = next(step for step, s, _ in sigma if s > threshold)
    assert sigma[0][1] == 0.0 and first > 10
    for step, s, lmp_s in sigma:
        assert abs(s - lmp_s) < 1e-8
    warned = sorted({int(m) for m in re.findall(r"on step (\d+) the force deviation", log)})
    assert warned and warned[0] == first
    data, species = write_data(tmp_path, atoms)
    inp = tmp_path / "in.stop"
    inp.write_text(INPUT.format(boundary="p p p", processors="", data=data,
                                pair=f"{m0} committee {m1} uncertainty_threshold {threshold} stop",
                                elements=" ".join(species), out=tmp_path, tag="stop",
                                run=DIMER_RUN))
    proc = subprocess.run(lmp_command(inp, ranks), capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert f"on step {first} the force deviation" in proc.stdout + proc.stderr
