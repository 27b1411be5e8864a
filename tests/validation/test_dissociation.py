"""Dissociation-curve metrics against Morse curves whose answers are known exactly, and
against deliberately broken calculators that each metric must catch."""
from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes

from support.validation_models import H2_MORSE, OH_MORSE
from umlip.validation.curves import energy_jumps, force_kinks, local_minima, refine_minimum
from umlip.validation.tasks.dissociation import DissociationSettings, DissociationTask

SETTINGS = DissociationSettings(grid_step=0.02, r_max=6.0, fd_stride=4)
_S, _C = OH_MORSE[2] * np.sin(np.radians(52.25)), OH_MORSE[2] * np.cos(np.radians(52.25))
H2O = (["O", "H", "H"], [[0, 0, 0], [_S, 0, _C], [-_S, 0, _C]], (0, 2))   # r(O-H) = Morse r0


@pytest.fixture
def morse_refs(tmp_path, morse_calc):
    from support.dft_data import dissociation_payload, write_ref

    write_ref(tmp_path, "dissociation_curves", dissociation_payload(morse_calc, {
        "H2": (["H", "H"], [[0, 0, 0], [0, 0, H2_MORSE[2]]], (0, 1))}))
    return tmp_path


@pytest.fixture
def oh_calc():
    """O-H Morse only (H-H off): the O-H curve of H2O is then exactly the O-H Morse curve
    on top of a constant frozen fragment, with the frozen-fragment + H limit."""
    from umlip.validation.analytic import PairCalculator, morse

    return PairCalculator(morse({("H", "H"): (0.0, 1.0, 1.0), ("O", "H"): OH_MORSE,
                                 ("O", "O"): (0.0, 1.0, 1.0)}), cutoff=30.0)


class Distorted(Calculator):
    """Wraps a calculator; adds f(r) of the H-H (atoms 0, 1) distance and/or scales forces."""

    implemented_properties = ("energy", "free_energy", "forces")

    def __init__(self, base, extra=None, force_scale=1.0):
        super().__init__()
        self.base, self.extra, self.scale = base, extra, force_scale

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms.copy()
        a.calc = self.base
        e, f = a.get_potential_energy(), a.get_forces() * self.scale
        if self.extra is not None and len(a) == 2:
            d = a.positions[1] - a.positions[0]
            r = np.linalg.norm(d)
            de, dedr = self.extra(r)
            e += de
            f[1] -= dedr * d / r
            f[0] += dedr * d / r
        self.results = {"energy": e, "free_energy": e, "forces": f}


def run(calc, refs):
    t = DissociationTask(settings=SETTINGS, reference_dir=refs, progress=False)
    return t.run(calc)


@pytest.mark.parametrize("name", ["H2", "H2O_OH"])
def test_same_calculator_as_reference_gives_exact_answers(tmp_path, morse_calc, oh_calc, name):
    from support.dft_data import dissociation_payload, write_ref

    calc, geo, (d, a, r0) = {
        "H2": (morse_calc, (["H", "H"], [[0, 0, 0], [0, 0, H2_MORSE[2]]], (0, 1)), H2_MORSE),
        "H2O_OH": (oh_calc, H2O, OH_MORSE)}[name]
    write_ref(tmp_path, "dissociation_curves", dissociation_payload(calc, {name: geo}))
    res = run(calc, tmp_path)
    assert not res.errors and len(res.missing_curves) == 6
    m = res.curves[name]["metrics"]
    assert m["binding_mae"] < 1e-9 and m["aligned_mae"] < 1e-9 and m["force_mae"] < 1e-9
    assert m["De_model"] == pytest.approx(d, abs=2e-4)        # parabola-refined grid min
    assert m["De_dft"] == pytest.approx(d, abs=1e-9)           # Morse well depth, exactly
    assert m["r_eq_model"] == pytest.approx(r0, abs=2e-3)
    assert m["fd_max_abs"] < 1e-3       # analytic forces; FD truncation E''' h^2/6
    assert (m["n_minima"], m["spurious_minima"], m["n_jumps"], m["n_kinks"]) == (1, 0, 0, 0)
    # Morse at 6 Å: D (2x - x^2) with x = exp(-a (r - r0)), analytic tail residual
    x = np.exp(-a * (res.curves[name]["model"]["grid_r"][-1] - r0))
    assert m["tail_residual"] == pytest.approx(-d * (2 * x - x * x), abs=1e-9)


def test_morse_with_different_parameters_gives_the_analytic_errors(morse_refs):
    from umlip.validation.analytic import PairCalculator, morse

    d, a, r0 = H2_MORSE
    other = PairCalculator(morse({("H", "H"): (d + 0.3, a, r0 + 0.05),
                                  ("O", "H"): OH_MORSE}), cutoff=30.0)
    m = run(other, morse_refs).curves["H2"]["metrics"]
    assert m["De_model"] - m["De_dft"] == pytest.approx(0.3, abs=2e-4)
    assert m["r_eq_model"] - m["r_eq_dft"] == pytest.approx(0.05, abs=2e-3)


def test_inconsistent_forces_are_caught(morse_calc, morse_refs):
    m = run(Distorted(morse_calc, force_scale=1.1), morse_refs).curves["H2"]["metrics"]
    assert m["fd_max_abs"] > 1.0            # 10 % of forces up to > 30 eV/Å


def test_spurious_minimum_is_counted(morse_calc, morse_refs):
    bump = lambda r: (-0.3 * np.exp(-((r - 2.5) / 0.15) ** 2),               # noqa: E731
                      0.3 * 2 * (r - 2.5) / 0.15 ** 2 * np.exp(-((r - 2.5) / 0.15) ** 2))
    m = run(Distorted(morse_calc, extra=bump), morse_refs).curves["H2"]["metrics"]
    assert (m["n_minima"], m["spurious_minima"]) == (2, 1)


def test_energy_jump_and_force_kink_are_located(morse_calc, morse_refs):
    step = lambda r: (0.2 * (r > 3.01), 0.0)                                 # noqa: E731
    c = run(Distorted(morse_calc, extra=step), morse_refs).curves["H2"]
    assert (c["metrics"]["n_jumps"], c["metrics"]["n_kinks"]) == (1, 0)
    assert c["model"]["jumps"][0]["r"] == pytest.approx(3.01, abs=1e-4)
    assert c["model"]["jumps"][0]["gap"] == pytest.approx(0.2, abs=1e-3)
    kink = lambda r: (0.5 * abs(r - 3.01), 0.5 * np.sign(r - 3.01))          # noqa: E731
    c = run(Distorted(morse_calc, extra=kink), morse_refs).curves["H2"]
    assert (c["metrics"]["n_jumps"], c["metrics"]["n_kinks"]) == (0, 1)
    assert c["model"]["kinks"][0]["r"] == pytest.approx(3.01, abs=1e-4)
    assert c["model"]["kinks"][0]["gap"] == pytest.approx(-1.0, abs=1e-3)   # F jumps by -1


def test_smooth_wiggles_are_not_kinks(morse_calc, morse_refs):
    # a smooth ripple shorter than the grid step fools the grid test, not the bisection
    def wig(r):                                  # 0.02 eV ripple around r = 2 Å
        g = np.exp(-((r - 2.0) / 0.15) ** 2)
        return (0.02 * np.sin(150 * r) * g,
                (3.0 * np.cos(150 * r) - 0.02 * np.sin(150 * r) * 2 * (r - 2.0) / 0.15 ** 2) * g)
    c = run(Distorted(morse_calc, extra=wig), morse_refs).curves["H2"]["metrics"]
    assert c["n_grid_candidates"] > 0
    assert (c["n_jumps"], c["n_kinks"]) == (0, 0)


def test_curve_helpers_on_closed_forms():
    r = np.linspace(-2, 2, 401)
    e = (r ** 2 - 1) ** 2                       # minima at -1, +1
    assert [round(r[i], 6) for i in local_minima(r, e)] == [-1.0, 1.0]
    assert local_minima(r, e + 1e-4 * np.sin(200 * r), prominence=1e-3) == local_minima(r, e)
    par = refine_minimum(r, 3 * (r - 0.1234) ** 2 + 2, int(np.argmin(np.abs(r - 0.12))))
    assert par["r"] == pytest.approx(0.1234, abs=1e-9) and par["energy"] == pytest.approx(2)
    f = -4 * r * (r ** 2 - 1)
    assert energy_jumps(r, e, f, 1e-6) == [] and force_kinks(r, f, 1e-3) == []
    assert len(energy_jumps(r, e, f * 1.01, 1e-6)) > 0       # forces not -dE/dr


def test_result_round_trip(tmp_path, morse_calc, morse_refs):
    from umlip.validation.tasks import load_result

    t = DissociationTask(settings=SETTINGS, reference_dir=morse_refs, progress=False)
    t.run(morse_calc)
    t.result.save(tmp_path / "r.json")
    back = load_result(tmp_path / "r.json")
    assert type(back) is type(t.result)
    assert [m.value for m in back.summary()] == pytest.approx(
        [m.value for m in t.result.summary()])
    assert len(t.plot(tmp_path / "plots")) == 1


def test_missing_reference_is_reported(tmp_path, morse_calc):
    t = DissociationTask(quick=True, reference_dir=tmp_path, progress=False)
    res = t.run(morse_calc)
    assert res.curves == {} and "H2" in res.missing_curves
    assert any("missing" in n for n in res.notes)
