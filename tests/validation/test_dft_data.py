"""DFT reference files: whichever exist load, their hashes match, settings are complete;
a tampered or incomplete file is refused; missing stages are reported."""
from __future__ import annotations

import json

import pytest

from umlip.validation.dft_data import (DFT_DATA_NAMES, SETTINGS_KEYS, DFTDataError,
                                    load_dft_data, payload_sha256, dft_data_status)


@pytest.mark.parametrize("name", DFT_DATA_NAMES)
def test_repository_references_load_and_verify(data_dir, name):
    path = data_dir / f"{name}.json"
    if not path.is_file():
        # not generated yet (reference/README.md, status): the loader must refuse it clearly
        # and the status must say so, so a task can never run against a missing reference
        with pytest.raises(FileNotFoundError, match="does not exist"):
            load_dft_data(name, data_dir)
        st = {s["name"]: s for s in dft_data_status(data_dir)}
        assert st[name]["state"] == "missing"
        return
    ref = load_dft_data(name, data_dir)
    doc = json.loads(path.read_text())
    assert payload_sha256(doc["payload"]) == doc["sha256"] == ref.sha256
    assert ref.metadata["units"]["energy"] == "eV"


def test_status_lists_every_reference(data_dir):
    st = {s["name"]: s for s in dft_data_status(data_dir)}
    assert set(st) == set(DFT_DATA_NAMES)
    assert all(s["state"] in ("complete", "partial", "missing") for s in st.values()), st


def _valid(tmp_path, morse_calc):
    from support.dft_data import dissociation_payload, write_ref

    p = dissociation_payload(morse_calc, {"H2": (["H", "H"], [[0, 0, 0], [0, 0, 0.74]],
                                                  (0, 1))})
    return write_ref(tmp_path, "dissociation_curves", p)


def test_valid_file_loads_and_reports_missing_curves(tmp_path, morse_calc):
    _valid(tmp_path, morse_calc)
    ref = load_dft_data("dissociation_curves", tmp_path)
    assert "curves.O2" in ref.missing and "curves.H2" not in ref.missing
    assert load_dft_data("phonons", tmp_path, missing_ok=True) is None
    with pytest.raises(FileNotFoundError):
        load_dft_data("phonons", tmp_path)


def test_tampered_payload_is_refused(tmp_path, morse_calc):
    path = _valid(tmp_path, morse_calc)
    doc = json.loads(path.read_text())
    doc["payload"]["curves"]["H2"]["points"][3]["energy"] += 1e-6
    path.write_text(json.dumps(doc))
    with pytest.raises(DFTDataError, match="sha256"):
        load_dft_data("dissociation_curves", tmp_path)
    assert dft_data_status(tmp_path)[0]["state"] == "invalid"


@pytest.mark.parametrize("drop", ["basis", "xc", "spin_search"])
def test_incomplete_settings_are_refused(tmp_path, morse_calc, drop):
    from support.dft_data import write_ref

    path = _valid(tmp_path, morse_calc)
    doc = json.loads(path.read_text())
    del doc["payload"]["method"][drop]
    write_ref(tmp_path, "dissociation_curves", doc["payload"])   # re-hashed, still invalid
    with pytest.raises(DFTDataError, match=drop):
        load_dft_data("dissociation_curves", tmp_path)


def test_missing_point_keys_are_refused(tmp_path, morse_calc):
    from support.dft_data import write_ref

    path = _valid(tmp_path, morse_calc)
    doc = json.loads(path.read_text())
    del doc["payload"]["curves"]["H2"]["points"][0]["force_along_bond"]
    write_ref(tmp_path, "dissociation_curves", doc["payload"])
    with pytest.raises(DFTDataError, match="force_along_bond"):
        load_dft_data("dissociation_curves", tmp_path)


def test_required_settings_lists_are_documented():
    for kind, keys in SETTINGS_KEYS.items():
        assert len(keys) >= 5, kind


def test_partial_neb_is_flagged(tmp_path):
    from support.dft_data import FAKE_GPAW, write_ref

    geo = {"numbers": [1], "positions": [[0, 0, 0]], "cell": [[5, 0, 0], [0, 5, 0], [0, 0, 5]],
           "pbc": [True] * 3, "energy": -1.0, "settings": FAKE_GPAW}
    payload = {"bulk_cu": {"settings": FAKE_GPAW, "a0": 3.6}, "H2_molecule": geo,
               "H_atom": geo, "lattice_constant_a0": 3.6, "bulk_energy_per_atom": -3.0,
               "adsorption_energy_definition": "x", "energy_convention": "x",
               "neb": {"images": [geo], "barrier_forward": 0.5, "barrier_reverse": 0.1,
                       "n_images_total": 1, "settings": FAKE_GPAW,
                       "status": "IN PROGRESS / not converged (partial path)"}}
    write_ref(tmp_path, "h_cu111", payload)
    ref = load_dft_data("h_cu111", tmp_path)
    assert ref.partial == ["neb"] and not ref.is_final("neb") and ref.has("neb")
    assert "slab.H_sites.fcc" in ref.missing
    # a section deeper in the payload (the bridge route's NEB) is flagged by its dotted path
    payload["neb"].pop("status")
    payload["bridge_route"] = {"H2_far": geo, "dissociated_state": geo,
                               "neb": dict(payload["neb"], status="IN PROGRESS (partial)")}
    write_ref(tmp_path, "h_cu111", payload)
    ref = load_dft_data("h_cu111", tmp_path)
    assert ref.partial == ["bridge_route.neb"] and ref.is_final("neb")
    assert ref.has("bridge_route.H2_far") and not ref.is_final("bridge_route.neb")


def test_convergence_note_states_the_tight_settings_check():
    from umlip.validation.dft_data import convergence_note

    h = {"convergence_check": {"E_ads_fcc_production": -0.25, "E_ads_fcc_tight": -0.27,
                               "difference_tight_minus_production": -0.02,
                               "a0_difference": 0.001,
                               "settings_tight": {"pw_cutoff_eV": 500.0,
                                                  "kpts": {"size": [6, 6, 1]}}}}
    assert convergence_note("h_cu111", h) == ("fcc-H E_ads -0.250 -> -0.270 eV at 500 eV, "
                                              "k [6, 6, 1] (-0.020); a0 +0.0010 Å")
    d = {"convergence_check": {"basis_tight": "def2-qzvp", "basis_production": "def2-tzvp",
                               "molecules": {"N2": {"difference_tight_minus_production": 0.05}}}}
    assert convergence_note("dissociation_curves", d) == "De def2-qzvp - def2-tzvp: N2 +0.050 eV"
    assert convergence_note("phonons", {}) == convergence_note("h_cu111", {}) == ""


def test_cu2_relativistic_check_repeats_the_committed_curve(data_dir):
    """dft/cu2_relativistic.py recomputes the Cu2 equilibrium without relativity, with the curve
    recipe's settings, next to the sfX2C-1e one: its r_eq and De must be the committed curve's
    (1e-4 Å, 1e-4 eV), else the difference it reports is not the relativistic effect alone."""
    from umlip.io import read_json

    doc = read_json(data_dir / "cu2_relativistic.json")
    assert payload_sha256(doc["payload"]) == doc["sha256"]
    levels = doc["payload"]["levels"]
    cu2 = load_dft_data("dissociation_curves", data_dir).payload["curves"]["Cu2"]
    nr, rel = levels["nonrelativistic"], levels["sfx2c1e"]
    assert abs(nr["r_eq"] - cu2["r_eq"]) <= 1e-4, (nr["r_eq"], cu2["r_eq"])
    assert abs(nr["De"] - cu2["De_vs_atoms"]) <= 1e-4, (nr["De"], cu2["De_vs_atoms"])
    diff = doc["payload"]["difference_sfx2c1e_minus_nonrelativistic"]
    assert diff["r_eq"] == rel["r_eq"] - nr["r_eq"] and diff["De"] == rel["De"] - nr["De"]


def test_paw_check_of_the_molecules_is_consistent_with_its_points(data_dir):
    """dft/molecules_paw.py (GPAW PAW PBE) measures r_eq and De of the dissociation-curve
    molecules for comparison with the all-electron curves: its all-electron values must be
    the committed curves' (else the difference is against something else), its r_eq must be
    the vertex of the parabola through its own three points and lie inside them (else it is
    an extrapolation), and its De must follow from its own atom and molecule energies."""
    import numpy as np

    from umlip.io import read_json

    doc = read_json(data_dir / "molecules_paw.json")
    assert payload_sha256(doc["payload"]) == doc["sha256"]
    payload = doc["payload"]
    curves = load_dft_data("dissociation_curves", data_dir).payload["curves"]
    assert payload["molecules"], "no molecule computed"
    for name, mol in payload["molecules"].items():
        ae = curves[name]
        assert mol["all_electron"] == {"r_eq": ae["r_eq"], "De": ae["De_vs_atoms"]}
        c2, c1, c0 = np.polyfit(mol["r"], mol["energy"], 2)
        assert c2 > 0, name                               # a minimum, not a maximum
        r_eq = -c1 / (2 * c2)
        assert abs(r_eq - mol["r_eq"]) <= 1e-9, name
        assert min(mol["r"]) < r_eq < max(mol["r"]), (name, r_eq, mol["r"])
        symbols = {"H2": "HH", "N2": "NN", "O2": "OO", "CO": "CO"}[name]
        atoms = sum(payload["atoms"][s]["energy"] for s in symbols)
        assert abs(atoms - (c0 - c1 * c1 / (4 * c2)) - mol["De"]) <= 1e-9, name
        assert mol["r_eq_minus_all_electron"] == mol["r_eq"] - ae["r_eq"]
        assert mol["De_minus_all_electron"] == mol["De"] - ae["De_vs_atoms"]
