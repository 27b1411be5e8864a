"""CI-NEB against an analytic double well with a known saddle, and the Cu(111) tasks
against a reference whose "DFT" is the same calculator (all errors must vanish)."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from umlip.validation.analytic import DoubleWellCalculator
from umlip.validation.optimize import neb_path, profile_at, resample_path


@pytest.mark.parametrize("tilt", [0.0, 0.3, -0.5])
def test_ci_neb_finds_the_exact_saddle(tilt):
    calc = DoubleWellCalculator(A=1.0, B=2.0, c=0.5, tilt=tilt)
    xs, es = calc.stationary_points()              # left min, saddle, right min (exact)
    ini = Atoms("H", positions=[[xs[0], calc.c * xs[0] ** 2, 0.0]])
    fin = Atoms("H", positions=[[xs[2], calc.c * xs[2] ** 2, 0.0]])
    # 6 moving images: no image sits on the saddle by construction, the climbing one must
    r = neb_path(ini, fin, calc, n_images=8, fmax=1e-3, steps=3000, interpolate="linear")
    assert r["optimizer_converged"]
    assert r["barrier_forward"] == pytest.approx(es[1] - es[0], abs=1e-4)
    assert r["barrier_reverse"] == pytest.approx(es[1] - es[2], abs=1e-4)
    assert r["reaction_energy"] == pytest.approx(es[2] - es[0], abs=1e-9)
    top = np.array(r["images"][r["highest_image_index"]]["positions"])[0]
    assert top[0] == pytest.approx(xs[1], abs=2e-3)
    # a plain NEB (no climbing) misses the saddle: the test above is not trivially met
    plain = neb_path(ini, fin, calc, n_images=8, fmax=1e-3, steps=3000, climb=False,
                     interpolate="linear")
    assert plain["barrier_forward"] < es[1] - es[0] - 1e-3


def test_profile_at_fixed_images():
    calc = DoubleWellCalculator(A=0.7)
    imgs = [Atoms("H", positions=[[x, 0.5 * x * x, 0]]) for x in np.linspace(-1, 1, 5)]
    p = profile_at(imgs, calc)
    assert p["barrier_forward"] == pytest.approx(0.7) and p["highest_image_index"] == 2


def test_resample_path_is_equally_spaced_on_the_given_path():
    # an L-shaped path: 3 Å along x, then 1 Å along y, given by unevenly spaced images
    pts = [[0, 0, 0], [0.5, 0, 0], [3, 0, 0], [3, 1, 0]]
    imgs = [Atoms("H", positions=[p]) for p in pts]
    out = resample_path(imgs, 5)                   # total length 4 Å: one point per Å
    got = np.array([a.positions[0] for a in out])
    assert got == pytest.approx(np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0],
                                          [3, 1, 0]], float))
    same = resample_path(out, 5)                   # equally spaced already: unchanged
    assert np.array([a.positions[0] for a in same]) == pytest.approx(got)


def test_h2_cu111_equals_reference_made_with_same_calculator(emt_refs):
    from ase.calculators.emt import EMT

    from umlip.validation.tasks.h2_cu111 import H2Cu111Settings, H2Cu111Task

    t = H2Cu111Task(settings=H2Cu111Settings(neb_fmax=0.05, neb_steps=300),
                    reference_dir=emt_refs, progress=False)
    res = t.run(EMT())
    assert not res.errors, res.errors
    for site, d in res.sites.items():
        assert d["relaxed"] == pytest.approx(d["dft"], abs=2e-3), site
        assert d["at_dft"] == pytest.approx(d["dft"], abs=1e-9), site
    for pair, d in res.pairs.items():
        assert d["at_dft"] == pytest.approx(d["dft"], abs=1e-9), pair
    assert res.final_state["pair"] == res.final_state["dft_lowest"]
    assert res.h2["bond_model"] == pytest.approx(res.h2["bond_dft"], abs=1e-3)
    n = res.neb
    assert n["model"]["barrier_vs_gas"] == pytest.approx(n["dft"]["barrier_vs_gas"], abs=0.02)
    assert n["model_at_dft_images"]["barrier_vs_gas"] == pytest.approx(
        n["dft"]["barrier_vs_gas"], abs=1e-9)
    b = res.bridge
    assert b["pair"]["at_dft"] == pytest.approx(b["pair"]["dft"], abs=1e-9)
    assert b["pair"]["relaxed"] == pytest.approx(b["pair"]["dft"], abs=2e-3)
    assert b["neb"]["model"]["barrier_vs_gas"] == pytest.approx(
        b["neb"]["dft"]["barrier_vs_gas"], abs=0.02)
    assert b["neb"]["model_at_dft_images"]["barrier_vs_gas"] == pytest.approx(
        b["neb"]["dft"]["barrier_vs_gas"], abs=1e-9)
    keys = {m.key for m in res.summary() if m.reference is not None}
    assert {"Eads_fcc", "Eads_hcp", "Eads_ontop", "E_2H", "h2_barrier_gas", "E_2H_bridge",
            "h2_barrier_bridge_gas", "h2_barrier_bridge_dftpath"} <= keys
    assert len(t.plot(emt_refs / "plots")) == 2


def test_bridge_pair_straddles_one_bridge():
    """The bridge route's pair: an fcc hollow (above a third-layer atom) and an hcp hollow
    (above a second-layer atom), a0 / sqrt(6) apart, their midpoint on the bridge between
    two top-layer atoms."""
    from umlip.validation.structures import BRIDGE_PAIR, cu111_slab, pair_site_positions

    a0 = 3.6423
    slab = cu111_slab(a0)
    p1, p2 = (np.asarray(p)[:2] for p in pair_site_positions(slab)[BRIDGE_PAIR])
    assert np.linalg.norm(p2 - p1) == pytest.approx(a0 / np.sqrt(6), abs=1e-9)
    z = slab.positions[:, 2]
    layers = sorted(set(np.round(z, 3)), reverse=True)          # top first

    def xy_of(layer):
        return slab.positions[np.isclose(z, layers[layer], atol=1e-3)][:, :2]

    def on(xy, p):            # p coincides with an atom of the layer (periodic in-plane)
        cell = slab.cell[:2, :2]
        frac = np.linalg.solve(cell.T, (xy - p).T).T
        d = (frac - np.round(frac)) @ cell
        return bool(np.any(np.linalg.norm(d, axis=1) < 1e-6))

    top = xy_of(0)
    mid = (p1 + p2) / 2
    bridges = [(a + b) / 2 for a in top for b in top
               if 0 < np.linalg.norm(a - b) < a0 / np.sqrt(2) + 1e-6]
    assert any(on(np.array([m]), mid) for m in bridges)
    assert on(xy_of(2), p1) and not on(xy_of(1), p1)                  # fcc
    assert on(xy_of(1), p2) and not on(xy_of(2), p2)                  # hcp


def test_adatom_equals_reference_made_with_same_calculator(emt_refs):
    from ase.calculators.emt import EMT

    from umlip.validation.tasks.adatom import AdatomSettings, AdatomTask

    t = AdatomTask(settings=AdatomSettings(neb_fmax=0.01),
                   reference_dir=emt_refs, progress=False)
    res = t.run(EMT())
    assert not res.errors, res.errors
    e = res.energies
    assert e["hcp_minus_fcc"]["relaxed"] == pytest.approx(e["hcp_minus_fcc"]["dft"], abs=1e-3)
    assert e["hcp_minus_fcc"]["at_dft"] == pytest.approx(e["hcp_minus_fcc"]["dft"], abs=1e-9)
    assert e["binding_fcc"]["at_dft"] == pytest.approx(e["binding_fcc"]["dft"], abs=1e-9)
    m, d = res.neb["model"], res.neb["dft"]
    assert m["barrier_forward"] == pytest.approx(d["barrier_forward"], abs=2e-3)
    assert m["barrier_reverse"] == pytest.approx(d["barrier_reverse"], abs=2e-3)
    assert 0.01 < m["barrier_forward"] < 0.2                   # EMT: ~0.06 eV


def test_neb_note_flags_an_unconverged_model_neb():
    """The summary cell of a barrier says when the model NEB behind it did not converge."""
    from umlip.validation.task import Metric

    calc = DoubleWellCalculator(A=1.0, B=2.0, c=0.5)
    xs, _ = calc.stationary_points()
    ini = Atoms("H", positions=[[xs[0], calc.c * xs[0] ** 2, 0.0]])
    fin = Atoms("H", positions=[[xs[2], calc.c * xs[2] ** 2, 0.0]])
    short = neb_path(ini, fin, calc, n_images=5, fmax=1e-4, steps=2, interpolate="linear")
    done = neb_path(ini, fin, calc, n_images=5, fmax=1e-2, steps=3000, interpolate="linear")
    assert not short["optimizer_converged"] and done["optimizer_converged"]
    note = Metric.neb_note(short, {"partial": True})
    assert note.startswith("model NEB not converged (max force ")
    assert f"{short['max_neb_force_final']:.2f} eV/Å" in note and note.endswith("DFT NEB partial")
    assert Metric.neb_note(done, {"partial": False}) == ""


def test_an_unconverged_h2_neb_gives_no_barrier_and_says_why():
    """A model CI-NEB that did not converge claims no barrier; an H atom that went below the
    top Cu layer along the path is named."""
    from umlip.validation.tasks.h2_cu111 import H2Cu111Result, subsurface_images

    def image(z_h):
        return {"numbers": [29, 29, 1, 1], "positions": [[0, 0, 10], [2.5, 0, 10],
                                                          [1, 1, z_h], [1, -1, z_h + 0.1]]}

    model = {"optimizer_converged": False, "max_neb_force_final": 0.74, "barrier_vs_gas": 2.7,
             "images": [image(13.0), image(9.5), image(11.0)]}
    assert subsurface_images(model) == [1]
    res = H2Cu111Result(bridge={"neb": {"model": model, "dft": {"barrier_vs_gas": 0.46}}})
    row = {m.key: m for m in res.summary()}["h2_barrier_bridge_gas"]
    assert row.value is None and row.reference == 0.46
    assert row.note.startswith("no barrier: model NEB not converged (max force 0.74 eV/Å)")
    assert "below the top Cu layer in image(s) 1" in row.note
    model.update(optimizer_converged=True)
    row = {m.key: m for m in res.summary()}["h2_barrier_bridge_gas"]
    assert row.value == 2.7 and row.note == ""
