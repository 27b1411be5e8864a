"""The statistics pair style umlip publishes for ``compute ID all pair umlip`` (its pvector,
summed over ranks by compute pair), at 1 and 2 MPI ranks, against independent counts:
local atoms sum to the number of atoms, the edge count of one rank is the periodic neighbour
list's (umlip.engine.neighbor_list), replicate mode evaluates that graph once per rank, the
mode entry says which mode ran, force calls count the steps, and the graph's candidate pairs
are rebuilt exactly when LAMMPS rebuilt its neighbour lists.
"""
from __future__ import annotations


import pytest
from ase.build import bulk
from ase.io import write
from support.lmp_input import neighbor_list_builds, run_input

from umlip import engine

# pvector layout, 1-based as in c_ID[k] (docs/pair_umlip.rst)
NAMES = ["mode", "local", "foreign", "edges", "largest", "calls", "pair_s", "model_s", "builds"]

INPUT = """units metal
boundary p p p
atom_style atomic
read_data {data}
pair_style umlip {model} dtype float64 ghost {ghost}
pair_coeff * * H C O Cu
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
compute st all pair umlip
thermo_style custom step pe c_st[*]
thermo_modify format float %.17g
thermo {steps}
velocity all create 1500.0 87287 mom yes rot yes dist gaussian
fix 1 all nve
timestep 0.002
run {steps}
"""


def structure():
    atoms = bulk("Cu", "fcc", a=3.62, cubic=True) * (3, 3, 2)
    atoms.numbers[[0, 11, 40]] = [8, 1, 6]
    atoms.rattle(0.05, seed=6)
    return atoms


def run(tmp_path, model, ranks, ghost, steps):
    atoms = structure()
    data = tmp_path / "system.data"
    write(data, atoms, format="lammps-data", specorder=["H", "C", "O", "Cu"], masses=True,
          units="metal")
    text = run_input(tmp_path, f"{ghost}.{ranks}.{steps}",
                     INPUT.format(data=data, model=model, ghost=ghost, steps=steps), ranks)
    rows, lines = [], text.splitlines()
    for k, line in enumerate(lines):
        if line.split()[:2] == ["Step", "PotEng"]:
            for row in lines[k + 1:]:
                if row.startswith("Loop time"):
                    break
                rows.append([float(v) for v in row.split()])
    builds = neighbor_list_builds(text)
    last = dict(zip(NAMES, rows[-1][2:]))
    return atoms, last, builds, rows


@pytest.fixture(scope="module")
def periodic_edges(analytic_model):
    atoms = structure()
    i, _, _ = engine.neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc,
                                   engine.Model(analytic_model).cutoff)
    return len(i)


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("ghost", ["graph", "replicate"])
def test_statistics_vector(tmp_path, analytic_model, periodic_edges, ranks, ghost):
    steps = 40
    atoms, st, builds, rows = run(tmp_path, analytic_model, ranks, ghost, steps)
    n = len(atoms)
    where = f"{ghost} at {ranks} ranks: {st}"
    assert len(rows) == 2, rows                       # thermo at step 0 and at the last step
    assert st["mode"] == (1.0 if ghost == "graph" else 2.0), where
    assert st["local"] == n, where
    assert st["calls"] == steps + 1, where            # setup + one per step
    assert st["pair_s"] >= st["model_s"] > 0.0, where
    assert builds > 1, f"the run never reneighboured ({builds} builds)"
    if ghost == "replicate":
        assert st["foreign"] == 0 and st["largest"] == n and st["builds"] == 0, where
        # every rank evaluates the whole system; edge count at the last step, so compare the
        # step-0 row, where positions are those of the data file
        first = dict(zip(NAMES, rows[0][2:]))
        assert first["edges"] == ranks * periodic_edges, (first, periodic_edges)
        return
    # once at setup (LAMMPS does not count its setup build) and once per LAMMPS rebuild
    assert st["builds"] == builds + 1, (f"{st['builds']} graph builds, {builds} LAMMPS list "
                                        f"builds after setup")
    first = dict(zip(NAMES, rows[0][2:]))
    if ranks == 1:
        assert first["foreign"] == 0 and first["largest"] == n, where
        assert first["edges"] == periodic_edges, (first, periodic_edges)
    else:
        nodes = first["local"] + first["foreign"]
        assert first["foreign"] > 0, first
        # owned atoms list exactly their periodic neighbours; kept foreign ghosts add theirs
        assert first["edges"] > periodic_edges, (first, periodic_edges)
        assert nodes / ranks <= first["largest"] <= nodes, first


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_layer_graph_has_one_node_per_atom(tmp_path, analytic_model, periodic_edges, ranks):
    """ghost layer: local atoms receive every edge once (all ranks together: the periodic
    list's edges), ghosts imaging a rank's own atoms are folded onto them (one rank: no
    foreign nodes) and the copies of a foreign atom are one node, so a rank has at most one
    foreign node per atom it does not own (the 3-cell-wide box has several ghost copies of
    every atom within the cutoff)."""
    atoms, st, _, rows = run(tmp_path, analytic_model, ranks, "layer", 2)
    n = len(atoms)
    first = dict(zip(NAMES, rows[0][2:]))
    where = f"layer at {ranks} ranks: {first}"
    assert first["mode"] == 3.0 and first["local"] == n, where
    assert first["edges"] == periodic_edges, (where, periodic_edges)
    if ranks == 1:
        assert first["foreign"] == 0, where
    else:
        assert 0 < first["foreign"] <= (ranks - 1) * n, where
