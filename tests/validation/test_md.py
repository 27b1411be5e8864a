"""MD pieces: bootstrap coverage, energy drift, backends, instability detection, and the
reactive/hot MD tasks on calculators and backends whose outcome is known."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from umlip.validation.analytic import PairCalculator, morse
from umlip.validation.instability import Criteria, first_failure, structure_events, trace_events
from umlip.validation.md import (BACKENDS, ASEBackend, LAMMPSModel, MDTrace, energy_drift,
                                get_backend)
from umlip.validation.stats import bootstrap_ci, error_stats


def coverage(p: float, n: int, level: float, n_exp: int = 400, seed: int = 1) -> float:
    rng = np.random.default_rng(seed)
    hit = 0
    for k in range(n_exp):
        x = (rng.random(n) < p).astype(float)
        ci = bootstrap_ci(x, n_boot=1000, level=level, seed=k)
        hit += ci["low"] <= p <= ci["high"]
    return hit / n_exp


def test_bootstrap_ci_has_its_nominal_coverage():
    assert 0.91 <= coverage(0.3, 100, 0.95) <= 0.985
    assert 0.40 <= coverage(0.3, 100, 0.50) <= 0.60     # a wrong level is visible


def test_bootstrap_ci_of_a_normal_mean():
    x = np.random.default_rng(3).normal(size=400)
    ci = bootstrap_ci(x, n_boot=4000)
    half = (ci["high"] - ci["low"]) / 2
    assert half == pytest.approx(1.96 * x.std() / np.sqrt(400), rel=0.1)
    assert ci["estimate"] == pytest.approx(x.mean())
    assert bootstrap_ci(np.ones(20)) == pytest.approx(
        {"estimate": 1.0, "low": 1.0, "high": 1.0, "level": 0.95, "n": 20, "n_boot": 4000})
    assert np.isnan(bootstrap_ci([])["estimate"])


def test_error_stats_weighted():
    e = error_stats([1, 2, 4], [1, 1, 1], weights=[2, 1, 1])
    assert e["mae"] == pytest.approx(1.0) and e["max_abs"] == 3 and e["n"] == 3


def test_energy_drift_of_a_known_series():
    t = np.linspace(0, 500, 101)                       # fs
    e = -10 + 2e-4 * t                                 # 0.2 eV/ps
    d = energy_drift(t, e)
    assert d["slope_eV_per_ps"] == pytest.approx(0.2) and d["max_abs_dev"] == pytest.approx(0.1)
    w = energy_drift(t, e, mask=t < 100)
    assert w["max_abs_dev"] == pytest.approx(0.02 - 2e-4 * 5, abs=1e-12)


def dimer():
    return PairCalculator(morse({("H", "H"): (4.7, 1.9, 0.74)}), cutoff=20.0)


def test_ase_nve_conserves_energy_and_stops_on_request():
    at = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.9]])
    tr = ASEBackend().run(at, dimer(), ensemble="nve", timestep_fs=0.1, n_steps=400,
                          record_every=4)
    assert tr.backend == "ase" and tr.stop_reason is None and tr.n_steps_done == 400
    assert np.ptp(tr.etot) < 1e-3 and len(tr.steps) == 101
    at = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.9]])
    tr = ASEBackend().run(at, dimer(), ensemble="nve", timestep_fs=0.1, n_steps=400,
                          check_every=10, check=lambda a, step: "enough" if step >= 30 else None,
                          observe=lambda a: {"r": a.get_distance(0, 1)})
    assert tr.stop_reason == "enough" and tr.n_steps_done == 30 and tr.steps[-1] == 30
    assert tr.extra["r"][0] == pytest.approx(0.9)


def test_lammps_backend_needs_a_umlip_model():
    with pytest.raises(ValueError, match="umlip model"):
        get_backend("lammps")
    assert get_backend("lammps", LAMMPSModel("m.pt")).model.file == "m.pt"


def test_lammps_model_pair_style_keywords():
    assert LAMMPSModel("m.pt").pair_style_keywords() == "device cpu"
    assert LAMMPSModel("m.pt", device="cuda:1", threads=3).pair_style_keywords() == \
        "device cuda:1 threads 3"


def test_lammps_backend_with_a_calculator_is_refused_before_running(tmp_path, capsys):
    from umlip.cli import main

    assert main(["validate", "run", "--calculator", "umlip.validation.analytic:toy_calculator",
                 "--backend", "lammps", "--tasks", "reactive_md", "--quick",
                 "--out", str(tmp_path), "--no-progress"]) == 2
    assert "--backend lammps runs a umlip model file: give --model" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_lammps_backend_reproduces_the_ase_trajectory(sevenn_model):
    """Same model, same velocity Verlet: LAMMPS (pair_style umlip) and ASE agree to round-off,
    with fixed atoms and an atom outside the cell at the start."""
    from ase.constraints import FixAtoms

    from umlip import UMLIPCalculator
    from umlip.validation.md import LAMMPSBackend, thermalize

    calc = UMLIPCalculator(sevenn_model, dtype="float64", num_threads=1)
    model = LAMMPSModel(sevenn_model, dtype="float64", threads=1)
    a0 = bulk("Cu", "fcc", a=3.62, cubic=True).repeat((2, 1, 1))
    a0.rattle(0.05, seed=1)
    a0.set_constraint(FixAtoms([0, 1]))
    thermalize(a0, 600, np.random.default_rng(0))
    a0.positions[3] += a0.cell[0]
    out = {}
    for backend in (ASEBackend(), LAMMPSBackend(model)):
        a = a0.copy()
        a.set_velocities(a0.get_velocities())
        tr = backend.run(a, calc, ensemble="nve", timestep_fs=1.0, n_steps=10, record_every=2,
                         check_every=5)
        out[backend.name] = (a.positions.copy(), a.get_velocities(), tr)
    (xa, va, ta), (xl, vl, tl) = out["ase"], out["lammps"]
    assert tl.backend == "lammps" and tl.steps == ta.steps == [0, 2, 4, 6, 8, 10]
    assert np.abs(xa - xl).max() < 1e-7 and np.abs(va - vl).max() < 1e-7
    assert np.abs(np.array(ta.epot) - np.array(tl.epot)).max() < 1e-6
    assert np.allclose(xl[:2], a0.positions[:2])                     # fixed atoms stayed


def test_lammps_backend_runs_with_the_models_threads(sevenn_model):
    """The pair style gets the model's thread count (LAMMPS alone would take
    $OMP_NUM_THREADS or 1, and --threads would silently not apply to the MD); no calculator
    is needed."""
    from umlip.engine import get_num_threads, set_num_threads
    from umlip.validation.md import LAMMPSBackend

    before = get_num_threads()
    try:
        a = bulk("Cu", "fcc", a=3.62, cubic=True)
        set_num_threads(1)
        tr = LAMMPSBackend(LAMMPSModel(sevenn_model, threads=3)).run(
            a, None, ensemble="nve", timestep_fs=1.0, n_steps=2)
        assert tr.n_steps_done == 2 and np.isfinite(tr.epot).all()
        assert get_num_threads() == 3          # set by pair_style umlip ... threads 3
    finally:
        set_num_threads(before)


def test_structure_events_on_constructed_configurations():
    crit = Criteria()
    cu = bulk("Cu", "fcc", a=3.6, cubic=True)
    assert structure_events(cu, crit) == []
    bad = cu.copy()
    bad.positions[1] = bad.positions[0] + [1.2, 0, 0]
    ev = structure_events(bad, crit)
    assert [e["kind"] for e in ev] == ["close_contact"] and "Cu0-Cu1" in ev[0]["detail"]
    slab = cu.copy()
    slab.pbc = [True, True, False]
    slab.cell[2, 2] = 30
    slab += Atoms("H", positions=[[1, 1, 20]])
    assert [e["kind"] for e in structure_events(slab, crit)] == ["atom_lost"]
    h2 = slab.copy()
    h2 += Atoms("H", positions=[[1, 1, 20.74]])
    assert structure_events(h2, crit) == []              # a desorbed molecule is not lost
    hot = cu.copy()
    v = np.zeros((len(hot), 3))
    v[2] = [2.0, 0, 0]                                   # Å/ASE-time: 0.5 * 63.5 * 4 eV
    hot.set_velocities(v)
    assert [e["kind"] for e in structure_events(hot, crit)] == ["energy_blowup"]


def test_trace_events_and_first_failure():
    crit = Criteria(max_nve_drift_per_atom=0.01)
    ok = trace_events([-10, -10.01, -10.0], [1, 1.01, 1.0], [300, 310, 290], 4, "nve", 300, crit)
    assert ok == []
    drift = trace_events([-10, -9.9, -9.8], [1, 1, 1], [300] * 3, 4, "nve", 300, crit)
    assert drift[0]["kind"] == "energy_blowup" and "drift" in drift[0]["detail"]
    nan = trace_events([-10, np.nan], [1, 1], [300] * 2, 4, "nve", 300, crit)
    assert nan == [{"kind": "energy_blowup", "detail": "non-finite energy"}]
    hot = trace_events([-10] * 3, [1] * 3, [300, 900, 2000], 4, "langevin", 300, crit)
    assert hot[0]["kind"] == "temperature_runaway"
    segs = [{"T_K": 300, "phase": "nve", "events": []},
            {"T_K": 600, "phase": "nvt", "events": [{"kind": "atom_lost", "detail": "x"}]},
            {"T_K": 900, "phase": "nvt", "events": [{"kind": "close_contact", "detail": "y"}]}]
    assert first_failure(segs)["T_K"] == 600 and first_failure(segs[:1]) is None


def _pair(params):
    """Pair function from {(Z_i, Z_j) sorted: callable(r) -> (V, dV/dr)}."""
    def pair(zi, zj, r):
        v, dv = np.zeros_like(r), np.zeros_like(r)
        for (a, b), f in params.items():
            m = ((zi == a) & (zj == b)) | ((zi == b) & (zj == a))
            v[m], dv[m] = f(r[m])
        return v, dv
    return pair


def _morse_fn(d, a, r0):
    return lambda r: (d * ((1 - np.exp(-a * (r - r0))) ** 2 - 1),
                      2 * d * a * np.exp(-a * (r - r0)) * (1 - np.exp(-a * (r - r0))))


def _repulsive(amp, rho):
    return lambda r: (amp * np.exp(-r / rho), -amp / rho * np.exp(-r / rho))


CU_CU = _morse_fn(0.3429, 1.3588, 2.866)


@pytest.mark.parametrize("case, expected", [("reflect", 0.0), ("dissociate", 1.0)])
def test_reactive_md_outcomes_on_known_surfaces(tmp_path, case, expected):
    from umlip.validation.tasks.reactive_md import ReactiveMDSettings, ReactiveMDTask

    if case == "reflect":       # H2 bound, Cu-H a hard wall: every molecule bounces back
        pairs = {(1, 1): _morse_fn(4.7, 1.9, 0.74), (1, 29): _repulsive(50.0, 0.3),
                 (29, 29): CU_CU}
    else:                       # no H-H bond at all: the atoms fly apart immediately
        pairs = {(1, 1): _repulsive(5.0, 0.5), (1, 29): _repulsive(1.0, 0.3), (29, 29): CU_CU}
    calc = PairCalculator(_pair(pairs), cutoff=6.0, r_on=5.0)
    s = ReactiveMDSettings.quick()
    t = ReactiveMDTask(settings=s, reference_dir=tmp_path, progress=False)
    res = t.run(calc)
    assert not res.errors
    for row in res.energies:
        assert row["p_dissociation"] == row["ci_low"] == row["ci_high"] == expected
        assert row["backend"] == "ase" and row["n"] == s.n_trajectories
        if case == "reflect":
            assert row["n_reflected"] == s.n_trajectories
            assert row["drift_max"] < 0.05


class CollapseBackend(ASEBackend):
    """Fake backend: fine below 1500 K; at >= 1500 K two atoms are pushed 1.0 Å apart."""

    name = "collapse"

    def run(self, atoms, calc, *, ensemble, temperature_K=None, check=None, **kw):
        atoms.calc = calc
        tr = MDTrace(self.name, ensemble, kw["timestep_fs"])
        tr.record(0, atoms, None)
        if temperature_K >= 1500:
            atoms.positions[1] = atoms.positions[0] + [1.0, 0, 0]
            tr.stop_reason = check(atoms, 1)
            tr.n_steps_done = 1
        else:
            tr.record(1, atoms, None)
            tr.n_steps_done = kw["n_steps"]
        return tr


def test_hot_md_reports_the_temperature_of_the_first_failure(tmp_path, monkeypatch):
    from umlip.validation.analytic import toy_calculator
    from umlip.validation.tasks.hot_md import HotMDSettings, HotMDTask

    monkeypatch.setitem(BACKENDS, "collapse", CollapseBackend)
    s = HotMDSettings.quick()
    s.temperatures_K = (300, 1000, 1500, 2000)
    t = HotMDTask(settings=s, reference_dir=tmp_path, backend="collapse", progress=False)
    res = t.run(toy_calculator())
    assert not res.errors
    for name, d in res.systems.items():
        ff = d["first_failure"]
        assert (ff["T_K"], ff["kind"], d["stable_up_to_K"]) == (1500, "close_contact", 1000)
        assert d["backend"] == "collapse"
        assert [x["T_K"] for x in d["segments"]] == [300, 300, 1000, 1000, 1500]
    m = {x.key: x for x in res.summary()}
    assert m["hot_bulk_cu"].value == 1500


def test_reactive_md_resumes_and_extends_without_recomputing(tmp_path):
    from umlip.validation.cache import Cache
    from umlip.validation.tasks.reactive_md import ReactiveMDSettings, ReactiveMDTask

    pairs = {(1, 1): _repulsive(5.0, 0.5), (1, 29): _repulsive(1.0, 0.3), (29, 29): CU_CU}
    calc = PairCalculator(_pair(pairs), cutoff=6.0, r_on=5.0)
    cache = Cache(tmp_path / "cache")

    def run(n):
        s = ReactiveMDSettings.quick()
        s.energies_eV, s.n_trajectories = (0.5,), n
        t = ReactiveMDTask(settings=s, reference_dir=tmp_path, cache=cache, progress=False)
        return t.run(calc)

    a = run(2)
    files = sorted((tmp_path / "cache").rglob("traj???.json"))
    stamps = [f.stat().st_mtime_ns for f in files]
    b = run(3)
    files3 = sorted((tmp_path / "cache").rglob("traj???.json"))
    assert len(files) == 2 and len(files3) == 3
    assert [f.stat().st_mtime_ns for f in files3[:2]] == stamps      # reused, not rewritten
    assert a.energies[0]["n"] == 2 and b.energies[0]["n"] == 3


def test_md_caches_depend_on_the_lattice_constant_only(tmp_path, emt_refs):
    """DFT data added to h_cu111.json for other tasks (a converged NEB, say) keeps the MD
    tasks' cached trajectories; a changed lattice constant does not, and the surface task,
    which uses the whole file, sees every change."""
    import json

    from support.dft_data import write_ref

    from umlip.validation.tasks.h2_cu111 import H2Cu111Task
    from umlip.validation.tasks.hot_md import HotMDTask
    from umlip.validation.tasks.reactive_md import ReactiveMDTask

    full = json.loads((emt_refs / "h_cu111.json").read_text())["payload"]
    variants = {"full": full, "no_neb": {k: v for k, v in full.items() if k != "neb"},
                "other_a0": json.loads(json.dumps(full))}
    variants["other_a0"]["bulk_cu"]["a0_used_rounded"] += 0.01
    fp = {}
    for name, payload in variants.items():
        d = tmp_path / name
        d.mkdir()
        write_ref(d, "h_cu111", payload)
        fp[name] = {T.name: T(quick=True, reference_dir=d, progress=False).fingerprint(
            pieces=True) for T in (ReactiveMDTask, HotMDTask, H2Cu111Task)}
    for task in ("reactive_md", "hot_md"):
        assert fp["full"][task] == fp["no_neb"][task] != fp["other_a0"][task]
    assert len({fp[v]["h2_cu111"] for v in fp}) == 3


@pytest.mark.parametrize("step_eV, lo, hi", [(0.0, 3.5, 4.5), (0.05, 0.8, 1.25)])
def test_half_timestep_check_tells_integrator_error_from_a_rough_potential(tmp_path, step_eV,
                                                                           lo, hi):
    """Velocity Verlet on a smooth potential: max |dE| shrinks 4x when dt halves. With an
    energy step of 0.05 eV in the Cu-H term (a potential that is not smooth) the drift is the
    step itself at any dt: ratio about 1."""
    from umlip.validation.tasks.reactive_md import ReactiveMDSettings, ReactiveMDTask

    wall = _repulsive(50.0, 0.3)

    def cu_h(r):
        v, dv = wall(r)
        return v + step_eV * (r < 2.0), dv

    pairs = {(1, 1): _morse_fn(4.7, 1.9, 0.74), (1, 29): cu_h, (29, 29): CU_CU}
    calc = PairCalculator(_pair(pairs), cutoff=6.0, r_on=5.0)
    s = ReactiveMDSettings.quick()
    s.energies_eV, s.n_trajectories, s.drift_check = (0.5,), 2, 2
    res = ReactiveMDTask(settings=s, reference_dir=tmp_path, progress=False).run(calc)
    assert not res.errors
    row = res.energies[0]
    assert row["n_reflected"] == 2 and len(row["drift_check"]) == 2
    for c in row["drift_check"]:
        assert c["outcome_half_dt"] == c["outcome"] == "reflected"
        assert lo < c["ratio"] < hi, row["drift_check"]
    m = {x.key: x for x in res.summary()}
    ratios = [c["ratio"] for c in row["drift_check"]]
    assert m["md_drift_dt_ratio"].value == pytest.approx(float(np.median(ratios)))
    assert m["md_drift_dt_ratio"].note == f"n = 2: {min(ratios):.2f}-{max(ratios):.2f}"


def test_binomial_ci_is_exact_where_the_bootstrap_collapses():
    from scipy.stats import binom

    from umlip.validation.stats import binomial_ci

    ci = binomial_ci(0, 20)
    assert ci["low"] == 0.0 and ci["high"] == pytest.approx(1 - 0.025 ** (1 / 20))
    assert bootstrap_ci(np.zeros(20))["high"] == 0.0          # the case it is there for
    assert binomial_ci(20, 20)["low"] == pytest.approx(0.025 ** (1 / 20))
    lo, hi = binomial_ci(6, 20)["low"], binomial_ci(6, 20)["high"]
    # Clopper-Pearson ends: P(X >= 6 | lo) = P(X <= 6 | hi) = 2.5%
    assert binom.sf(5, 20, lo) == pytest.approx(0.025)
    assert binom.cdf(6, 20, hi) == pytest.approx(0.025)
