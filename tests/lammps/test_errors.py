"""Bad LAMMPS input ends in one clear LAMMPS error naming the problem: no crash, no hang
(every run has a timeout), also under MPI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.lmp_input import BIN, lmp_command

import umlip.lammps

MPIRUN = str(BIN / "mpirun")
HEADER = """units metal
boundary p p p
atom_style atomic
{pre}
lattice fcc 3.61
region box block 0 2 0 2 0 2
create_box 2 box
create_atoms 1 box
mass * 63.546
"""


def run_lmp(tmp_path, body, ranks=1, pre="", header=True):
    inp = tmp_path / "in.test"
    inp.write_text((HEADER.format(pre=pre) if header else "") + body + "\nrun 0\n")
    proc = subprocess.run(lmp_command(inp, ranks), capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    out = proc.stdout + proc.stderr
    errors = [ln for ln in out.splitlines() if ln.startswith("ERROR")]
    return proc.returncode, errors, out


CASES = {
    "unknown element": ("pair_style umlip {mace}\npair_coeff * * Cu Fe", "",
                        r"element Fe \(Z=26\) is not covered by model"),
    "not an element": ("pair_style umlip {mace}\npair_coeff * * Cu Xx", "",
                       "unknown chemical element 'Xx'"),
    "too few elements": ("pair_style umlip {mace}\npair_coeff * * Cu", "",
                         r"needs one element symbol \(or NULL\) per atom type \(2 types\), got 1"),
    "missing model": ("pair_style umlip {tmp}/nothing.pt\npair_coeff * * Cu H", "",
                      "nothing.pt' does not exist"),
    "corrupt model": ("pair_style umlip {tmp}/corrupt.pt\npair_coeff * * Cu H", "",
                      "is not a readable TorchScript archive"),
    "unknown model name": ("pair_style umlip 7net-nope\npair_coeff * * Cu H", "",
                           "neither a model file nor a known model name"),
    "newton off": ("pair_style umlip {mace}\npair_coeff * * Cu H", "newton off",
                   "requires newton pair on"),
    "unknown keyword": ("pair_style umlip {mace} flux 3\npair_coeff * * Cu H", "",
                        "Unknown pair_style umlip keyword: flux"),
    "bad dtype": ("pair_style umlip {mace} dtype float16\npair_coeff * * Cu H", "",
                  "dtype must be float32 or float64"),
    "pair_coeff not * *": ("pair_style umlip {mace}\npair_coeff 1 1 Cu H", "",
                           r"must start with \* \* for pair style umlip"),
}


@pytest.mark.parametrize("ranks", [1, 2])
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(tmp_path, analytic_model, name, ranks):
    import re

    (tmp_path / "corrupt.pt").write_bytes(b"\x00not a zip archive" * 200)
    body, pre, pattern = CASES[name]
    rc, errors, out = run_lmp(tmp_path, body.format(mace=analytic_model, tmp=tmp_path), ranks, pre)
    assert rc != 0, out[-2000:]
    assert errors, out[-2000:]
    assert re.search(pattern, errors[0]), errors
    assert "Segmentation" not in out and "core dumped" not in out


def test_wrong_units(tmp_path, analytic_model):
    body = (f"units lj\natom_style atomic\nregion box block 0 5 0 5 0 5\ncreate_box 1 box\n"
            f"pair_style umlip {analytic_model}")
    rc, errors, out = run_lmp(tmp_path, body, header=False)
    assert rc != 0 and errors, out[-2000:]
    assert "supports units metal, real and si, not units lj" in errors[0]


@pytest.mark.parametrize("ranks", [1, 2])
def test_plugin_refuses_other_lammps_version(tmp_path, ranks):
    """A plugin built for another LAMMPS version must refuse to load, not misparse. The test
    plugin is the same shim compiled with a different LAMMPS version number."""
    wrong = Path(umlip.lammps.plugin_dir()) / "testing" / "wrongversion.so"
    assert wrong.is_file()
    rc, errors, out = run_lmp(tmp_path, f"plugin load {wrong}", ranks)
    assert rc != 0, out[-2000:]
    assert errors and "built for LAMMPS version 20200303 but was loaded into LAMMPS version " \
        "20250722; refusing to load it" in errors[0], out[-2000:]


def test_python_module_raises(tmp_path, analytic_model):
    """Through the lammps Python module the same errors are Python exceptions."""
    from umlip.lammps.session import open_lammps

    lmp = open_lammps()
    try:
        lmp.commands_string(HEADER.format(pre=""))
        lmp.command(f"pair_style umlip {analytic_model}")
        with pytest.raises(Exception, match="element Fe"):
            lmp.command("pair_coeff * * Cu Fe")
    finally:
        lmp.close()


def test_contract_1_0_refused_for_multi_rank_graph(tmp_path, analytic_model):
    """A model file of contract 1.0 (no message-direction rule) must not run the directed
    multi-rank graph silently."""
    from support.model_files import rewrite_metadata

    old = tmp_path / "v10.pt"
    rewrite_metadata(analytic_model, old, lambda m: m.update(contract_version="1.0"))
    rc, errors, out = run_lmp(tmp_path, f"pair_style umlip {old} ghost graph\npair_coeff * * Cu H",
                              ranks=2)
    assert rc != 0 and errors and "uses model contract 1.0" in errors[0], out[-2000:]


SLOW_RANK0 = """
import os, sys, time
from umlip.lammps.session import open_lammps
open_lammps().close()
if os.environ.get("PMI_RANK") == "0":
    time.sleep(2.0)                      # rank 0 still busy after the others are done
    open(sys.argv[1], "w").write("rank 0 finished")
"""


@pytest.mark.mpi
def test_ranks_wait_for_each_other_at_exit(tmp_path):
    """A rank leaving Python before the others must not get them killed (MPICH's hydra SIGKILLs
    the rest when a rank exits without MPI_Finalize; open_lammps registers it at exit)."""
    script = tmp_path / "slow_rank0.py"
    script.write_text(SLOW_RANK0)
    out = tmp_path / "rank0.txt"
    proc = subprocess.run([MPIRUN, "-np", "3", sys.executable, str(script), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert out.is_file(), "rank 0 was killed before it finished:\n" + proc.stdout[-2000:]
