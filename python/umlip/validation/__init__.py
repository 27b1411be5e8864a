"""umlip.validation: validation of universal MLIPs on reactive events against DFT (PBE).

Tasks (``umlip validate run --tasks ...``):

=============  ==============================================================================
dissociation   bond dissociation curves of H2, O2, N2, CO, Cu2, H2O (O-H), CH4 (C-H)
h2_cu111       H / H2 on Cu(111): adsorption energies, dissociation barrier (CI-NEB)
adatom         Cu adatom on Cu(111): fcc/hcp energy difference, fcc->hcp hop barrier
reactive_md    H2 shot at Cu(111): dissociation probability vs energy, NVE energy drift
hot_md         bulk Cu and H2/Cu(111) heated stepwise: temperature of the first failure
phonons        Cu and Si phonon bands, DOS and imaginary modes (phonopy) vs DFT
=============  ==============================================================================

Python use (phonopy style)::

    from umlip.validation import get_task
    t = get_task("dissociation")(quick=True)
    t.run(calc)          # any ASE calculator
    t.result.save("d.json"); t.plot("plots/")

The DFT data live in ``umlip/validation/data`` (see :mod:`umlip.validation.dft_data`; the
recipes that made them are the repository's ``dft/``).
Units: eV, Å, eV/Å, fs, K, THz.
"""
from __future__ import annotations

__all__ = ["TASKS", "get_task", "load_result", "load_dft_data", "dft_data_status",
           "DFTDataError", "RunOptions", "run_benchmark", "write_report"]

_WHERE = {"TASKS": "umlip.validation.tasks", "get_task": "umlip.validation.tasks",
          "load_result": "umlip.validation.tasks", "load_dft_data": "umlip.validation.dft_data",
          "dft_data_status": "umlip.validation.dft_data",
          "DFTDataError": "umlip.validation.dft_data", "RunOptions": "umlip.validation.runner",
          "run_benchmark": "umlip.validation.runner", "write_report": "umlip.validation.report"}


def __getattr__(name):
    # lazy: `umlip --help` builds the validate parser and must not import ase/scipy/phonopy
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'umlip.validation' has no attribute {name!r}")
