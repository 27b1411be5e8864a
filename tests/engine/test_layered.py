"""The engine's stage-by-stage evaluation of layered model files (docs/model-contract.md,
section 6) on the analytic model (H, C, O, Cu; 3 layers, so two exchanges matter):

- stages composed by the engine = the file's whole-model forward (fp64 to round-off);
- layer-wise recomputation on = off (identical numbers);
- the ghost-layer graph (every periodic image within one cutoff a ghost node, ghost rows
  refreshed from their owners between stages) = the whole periodic system, and = a plain torch
  implementation of the same exchange; the same graph without the exchange is wrong;
- a rank with no local atoms still makes every exchange; refusals are one clear message.
"""
from __future__ import annotations

import numpy as np
import pytest
from support import structures
from support.layered_graph import ghost_layer_run, staged_reference
from support.model_files import rewrite_metadata

from umlip import engine
from umlip.families.analytic import export_analytic

CASES = {
    "triclinic": structures.triclinic,
    "slab_h2": structures.slab_h2,
    "molecule": structures.molecule_in_box,
    "small_cell": structures.small_cell,
    "bulk_cu": structures.bulk_cu,
}


@pytest.fixture(scope="module")
def layered_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("layered") / "analytic_l3.pt")
    export_analytic(path, ("H", "C", "O", "Cu"), cutoff=4.0, num_layers=3, dtype="float64",
                    seed=1)
    return path


def compute(model, atoms):
    return model.compute(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc,
                         atom_virial=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_stages_equal_whole_forward_and_recomputation_changes_nothing(layered_file, case):
    atoms = CASES[case]()
    whole = compute(engine.Model(layered_file, stages=0), atoms)
    staged = compute(engine.Model(layered_file, stages=1, recompute=0), atoms)
    recomputed = compute(engine.Model(layered_file, stages=1, recompute=1), atoms)
    assert not whole["staged"] and staged["staged"] and recomputed["recomputed"]
    assert abs(staged["energy"] - whole["energy"]) <= 1e-10
    for key in ("forces", "virial", "atom_virial"):
        np.testing.assert_allclose(staged[key], whole[key], rtol=0, atol=1e-10)
    assert recomputed["energy"] == staged["energy"]
    for key in ("forces", "virial", "atom_virial", "energies"):
        np.testing.assert_array_equal(recomputed[key], staged[key])


def test_recomputation_switches_on_above_the_edge_threshold(layered_file):
    atoms = structures.bulk_cu()
    small = compute(engine.Model(layered_file, recompute_min_edges=10**9), atoms)
    large = compute(engine.Model(layered_file, recompute_min_edges=10), atoms)
    assert not small["staged"] and large["staged"] and large["recomputed"]
    np.testing.assert_allclose(large["forces"], small["forces"], rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", ["triclinic", "slab_h2", "bulk_cu"])
def test_recomputation_over_receiver_blocks_gives_the_same_numbers(layered_file, case):
    """Blocks of at most 37 edges (many blocks, cut between any two receivers) vs the whole
    graph at once, on the periodic system and on the ghost-layer graph, whose blocks mix owned
    and ghost receivers."""
    atoms = CASES[case]()
    whole = engine.Model(layered_file, stages=1, recompute=1, recompute_block_edges=0)
    blocked = engine.Model(layered_file, stages=1, recompute=1, recompute_block_edges=37)
    runs = [(compute(whole, atoms), compute(blocked, atoms))]
    runs.append(tuple(ghost_layer_run(m, atoms)[0] for m in (whole, blocked)))
    for one, many in runs:
        assert one["recomputed"] and many["recomputed"] and one["blocks"] == 1
        assert many["blocks"] >= many["n_edges"] // 37 > 3
        assert abs(many["energy"] - one["energy"]) <= 1e-10
        for key in ("forces", "virial", "atom_virial", "energies"):
            np.testing.assert_allclose(many[key], one[key], rtol=0, atol=1e-10, err_msg=key)


@pytest.mark.parametrize("case", ["triclinic", "slab_h2", "small_cell", "bulk_cu"])
def test_ghost_layer_graph_with_exchange_equals_the_periodic_system(layered_file, case):
    atoms = CASES[case]()
    model = engine.Model(layered_file)
    whole = compute(model, atoms)
    out, forces, atom_virial, g, species = ghost_layer_run(model, atoms)
    assert out["staged"] and out["halo_doubles"] > 0
    assert abs(out["energy"] - whole["energy"]) <= 1e-10
    np.testing.assert_allclose(forces, whole["forces"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(out["virial"], whole["virial"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(atom_virial.sum(axis=0), whole["virial"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(out["energies"], whole["energies"], rtol=0, atol=1e-10)
    # the same exchange written in plain torch (autograd through the ghost-row copy)
    ref = staged_reference(layered_file, species, g)
    assert abs(ref["energy"] - out["energy"]) <= 1e-10
    ref_forces = np.zeros((len(g["positions"]), 3))
    np.add.at(ref_forces, g["edge_index"][0], ref["edge_grad"])
    np.add.at(ref_forces, g["edge_index"][1], -ref["edge_grad"])
    np.testing.assert_allclose(ref_forces, out["forces"], rtol=0, atol=1e-10)


def test_ghost_layer_graph_without_exchange_is_wrong(layered_file):
    """Ghost nodes receive no messages: without the exchange their features are not the
    owners', and the energy is not the system's (so the exchange is what makes it exact)."""
    atoms = structures.bulk_cu()
    model = engine.Model(layered_file)
    whole = compute(model, atoms)
    out = ghost_layer_run(model, atoms, exchange=False)[0]
    assert abs(out["energy"] - whole["energy"]) > 1e-3


def test_graph_without_nodes_runs_staged_with_a_halo(layered_file):
    """A rank owning no atoms joins the exchanges (LAMMPS ghost layer) and contributes
    nothing; the engine does not skip the staged path for it."""
    model = engine.Model(layered_file)
    out = model.evaluate_graph(np.zeros((0, 3)), np.zeros(0, dtype=np.int64),
                               np.zeros((2, 0), dtype=np.int64), np.zeros((0, 3)), 0,
                               ghost_owner=np.zeros(0, dtype=np.int64))
    assert out["staged"] and out["energy"] == 0.0 and out["forces"].shape == (0, 3)


def test_refusals_name_the_fix(layered_file, tmp_path):
    whole_only = str(tmp_path / "whole.pt")
    rewrite_metadata(layered_file, whole_only, lambda meta: meta.pop("stages"))
    model = engine.Model(whole_only)
    assert not model.layered
    with pytest.raises(ValueError, match="re-export"):
        engine.Model(whole_only, recompute=1)
    atoms = structures.bulk_cu()
    with pytest.raises(ValueError, match="not layered: re-export"):
        ghost_layer_run(model, atoms)
    with pytest.raises(ValueError, match="whole-model evaluation"):
        ghost_layer_run(engine.Model(layered_file, stages=0), atoms)
    broken = str(tmp_path / "broken.pt")
    rewrite_metadata(layered_file, broken,
                     lambda meta: meta["stages"].append(dict(meta["stages"][-1])))
    with pytest.raises(ValueError, match="stages"):
        engine.Model(broken)


def test_calculator_recompute_option_gives_identical_results(layered_file):
    from umlip import UMLIPCalculator

    atoms = structures.triclinic()
    results = []
    for recompute in (True, False):
        atoms.calc = UMLIPCalculator(layered_file, recompute=recompute)
        results.append((atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
    # recompute=True runs the stages, False the whole forward: the same to round-off
    assert abs(results[0][0] - results[1][0]) <= 1e-10
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="recompute must be"):
        UMLIPCalculator(layered_file, recompute="sometimes")


def test_export_refuses_a_stage_that_reads_neighbours_without_exchange(tmp_path, monkeypatch):
    """The exporters' self-check runs the stages with the halo exchange on a ghost-layer graph:
    a layer flagged as not exchanging its input is caught before the file is written."""
    from umlip.contract import ExportError
    from umlip.families import analytic

    honest = analytic.AnalyticModel.stage_metadata

    def no_exchange(self):
        return [dict(s, exchange=False) for s in honest(self)]

    monkeypatch.setattr(analytic.AnalyticModel, "stage_metadata", no_exchange)
    with pytest.raises(ExportError, match="must say exchange"):
        export_analytic(str(tmp_path / "bad.pt"), ("H", "Cu"), num_layers=3)
    assert not (tmp_path / "bad.pt").exists()
