"""Pair style umlip in units metal, real and si against the ASE calculator (eV, Å) on the same
model file and structure, float64, one MPI rank, both ghost modes.

Two references:
- converted with LAMMPS's own constants (``umlip.units.lammps_unit_factors``, checked against
  the values LAMMPS reports): energy, per-atom energies, forces, virial and per-atom virials
  agree to relative 1e-10 (relative to the largest magnitude of each quantity; float64
  round-off is ~1e-14 here, the units only add one multiplication);
- converted with ``ase.units`` (CODATA 2014), pressure included: relative 3e-7, because
  LAMMPS's constants are CODATA 2006 to 8 digits and differ from ASE's by up to 1.2e-7.
Any other unit style is refused with one error naming the supported ones.
"""
from __future__ import annotations

import numpy as np
import pytest
from ase import units
from ase.build import bulk

from umlip import UMLIPCalculator
from umlip.units import (LAMMPS_ANGSTROM, LAMMPS_BOLTZ, lammps_unit_factors,
                         virial_to_lammps)

EXACT = 1e-10
CODATA = 3e-7
SYMBOLS = ["H", "C", "O", "Cu"]    # the analytic test model's elements, in pair_coeff order


def structure():
    """27 atoms in a triclinic (fcc primitive) cell, rattled, with H, C and O among the Cu;
    in LAMMPS's cell convention (a along x, b in the xy plane)."""
    atoms = bulk("Cu", "fcc", a=3.62) * (3, 3, 3)
    atoms.numbers[[0, 7, 13]] = [8, 1, 6]
    rcell, _ = atoms.cell.standard_form()
    atoms.set_cell(rcell, scale_atoms=True)
    atoms.rattle(0.08, seed=2)
    return atoms


def run_lammps(model, atoms, style, ghost):
    """Everything umlip.lammps.driver gathers for ``atoms`` in units ``style`` after ``run 0``,
    with LAMMPS's boltz, angstrom and the number of ghost atoms."""
    from umlip.lammps.driver import case_from_atoms, gather, setup_case
    from umlip.lammps.session import open_lammps

    lmp = open_lammps()
    try:
        setup_case(lmp, case_from_atoms(atoms), model, "float64", f"ghost {ghost}", SYMBOLS,
                   units=style)
        lmp.command("run 0 post no")
        out = gather(lmp)
        out.update(boltz=lmp.extract_global("boltz"), angstrom=lmp.extract_global("angstrom"),
                   nghost=lmp.extract_global("nghost"))
    finally:
        lmp.close()
    return out


@pytest.fixture(scope="module")
def ase_reference(analytic_model):
    atoms = structure()
    calc = UMLIPCalculator(analytic_model, dtype="float64")
    atoms.calc = calc
    res = calc.model.compute(atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc,
                             atom_virial=True)
    return {
        "energy": atoms.get_potential_energy(),
        "forces": atoms.get_forces(),
        "energies": atoms.get_potential_energies(),
        "stress": atoms.get_stress(voigt=False),    # eV/Å^3
        "virial": virial_to_lammps(res["virial"]),
        "atom_virial": np.array([virial_to_lammps(w) for w in res["atom_virial"]]),
    }


def rel_err(got, want):
    got, want = np.asarray(got, float), np.asarray(want, float)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def ase_factors(style):
    """(energy, length, pressure) units of LAMMPS `style` per eV, Å and eV/Å^3, from
    ase.units."""
    energy = {"metal": 1.0, "real": units.mol / units.kcal, "si": 1.0 / units.J}[style]
    length = {"metal": 1.0, "real": 1.0, "si": 1e-10}[style]
    pressure = {"metal": 1.0 / units.bar, "real": 1.0 / (101325.0 * units.Pascal),
                "si": 1.0 / units.Pascal}[style]
    return energy, length, pressure


@pytest.mark.parametrize("ghost", ["graph", "replicate"])
@pytest.mark.parametrize("style", ["metal", "real", "si"])
def test_units_against_ase(analytic_model, ase_reference, style, ghost):
    ref = ase_reference
    got = run_lammps(analytic_model, structure(), style, ghost)
    e, length = lammps_unit_factors(style)
    # the factors are made of LAMMPS's own constants
    assert (got["boltz"], got["angstrom"]) == (LAMMPS_BOLTZ[style], LAMMPS_ANGSTROM[style])

    checks = {
        "energy": (got["energy"], e * ref["energy"]),
        "per-atom energies": (got["energies"], e * ref["energies"]),
        "forces": (got["forces"], e / length * ref["forces"]),
        "virial": (got["virial"], e * ref["virial"]),
        "per-atom virials": (got["atom_virial"], e * ref["atom_virial"]),
    }
    for what, (a, b) in checks.items():
        err = rel_err(a, b)
        assert err <= EXACT, f"{what} in units {style} ({ghost}): relative error {err:.2e}"

    ea, la, pa = ase_factors(style)
    p_ase = -pa * ref["stress"]    # pressure tensor = -stress
    checks = {
        "energy": (got["energy"], ea * ref["energy"]),
        "forces": (got["forces"], ea / la * ref["forces"]),
        "pressure": (got["pressure"], virial_to_lammps(p_ase)),
    }
    for what, (a, b) in checks.items():
        err = rel_err(a, b)
        assert err <= CODATA, f"{what} in units {style} vs ase.units: relative error {err:.2e}"


def test_cutoff_in_user_length(analytic_model):
    """The pair cutoff and the ghost shell are in the user's length unit: the same number of
    ghost atoms in Å (metal) and in m (si)."""
    atoms = structure()
    metal = run_lammps(analytic_model, atoms, "metal", "graph")
    si = run_lammps(analytic_model, atoms, "si", "graph")
    assert metal["nghost"] == si["nghost"] > 0, (metal["nghost"], si["nghost"])


@pytest.mark.parametrize("style", ["lj", "cgs", "electron", "micro", "nano"])
def test_other_units_refused(analytic_model, style):
    from umlip.lammps.session import open_lammps

    lmp = open_lammps()
    try:
        lmp.commands_string(f"units {style}\natom_style atomic\n"
                            "region box block 0 5 0 5 0 5\ncreate_box 1 box")
        with pytest.raises(Exception, match=f"Pair style umlip supports units metal, real and "
                                            f"si, not units {style}"):
            lmp.command(f"pair_style umlip {analytic_model}")
    finally:
        lmp.close()
