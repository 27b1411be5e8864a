"""The umlip command line: export refusals, info, models, resolve, selftest."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

UMLIP = [sys.executable, "-m", "umlip"]


def umlip(*args, timeout=900):
    return subprocess.run(UMLIP + list(args), capture_output=True, text=True, timeout=timeout)


def test_info_and_models(mace_model):
    p = umlip("info", mace_model)
    assert p.returncode == 0, p.stderr
    assert "elements:    H C O Cu" in p.stdout and "verified" in p.stdout
    assert "self-check:  vs mace-torch" in p.stdout
    assert "kernels:     batched (convolutions on umlip's batched kernels)" in p.stdout
    p = umlip("models")
    assert p.returncode == 0 and "7net-0" in p.stdout and "7net-mf-0:pbe" in p.stdout


@pytest.mark.parametrize("args,message", [
    (["sevenn", "7net-mf-0"], "multi-fidelity model: choose a modal"),
    (["sevenn", "7net-mf-0", "--modal", "HF"], "unknown modal 'HF'"),
    (["sevenn", "7net-omni"], "umlip never downloads weights"),
    (["mace", "/nonexistent/x.model"], "does not exist"),
])
def test_export_refusals(tmp_path, args, message):
    p = umlip("export", *args, "-o", str(tmp_path / "out.pt"))
    assert p.returncode != 0
    assert message in p.stderr, p.stderr[-2000:]
    assert not (tmp_path / "out.pt").exists()


def test_export_refuses_non_energy_mace(tmp_path):
    """A mace-torch file holding something other than MACE/ScaleShiftMACE is refused."""
    from support.family import run_family

    bad = tmp_path / "linear.model"
    run_family("mace", ["-c", f"import mace, torch; torch.save(torch.nn.Linear(2, 2), {str(bad)!r})"])
    p = umlip("export", "mace", str(bad), "-o", str(tmp_path / "out.pt"))
    assert p.returncode != 0 and "exports energy models of type MACE or ScaleShiftMACE" in p.stderr


def test_export_multifidelity_sevenn(tmp_path):
    """7net-mf-0 exports with a modal and reproduces sevenn's calculator (the exporter's own
    self-check compares against SevenNetCalculator with that modal)."""
    out = tmp_path / "mf.pt"
    p = umlip("export", "sevenn", "7net-mf-0:PBE", "-o", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    p = umlip("info", str(out), "--json")
    assert '"modal": "PBE"' in p.stdout and '"self_check"' in p.stdout


def test_resolve_name(sevenn_model):
    p = umlip("resolve", "7net-0")
    assert p.returncode == 0 and Path(p.stdout.strip()).samefile(sevenn_model)


@pytest.mark.mpi
def test_selftest(mace_model):
    p = umlip("selftest", mace_model, "--steps", "200")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "LAMMPS 1 rank" in p.stdout and "LAMMPS 2 ranks" in p.stdout
    assert "selftest PASSED" in p.stdout


@pytest.mark.mpi
@pytest.mark.parametrize("ghost,mode", [(None, "layer"), ("graph", "graph")])
def test_selftest_splits_the_work_at_two_ranks(analytic_model, ghost, mode):
    """At 2 ranks the selftest runs a mode that splits the work (layer for a layered file, or
    the one asked for), says which one the pair style ran, and keeps its columns aligned."""
    p = umlip("selftest", analytic_model, "--ranks", "1", "2", "--steps", "20",
              *(["--ghost", ghost] if ghost else []))
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    header = next(ln for ln in lines if ln.startswith("backend (ghost mode)"))
    rows = [ln for ln in lines if ln.startswith("LAMMPS ")]
    assert rows[1].startswith(f"LAMMPS 2 ranks ({mode}) ") and "(replicate)" not in rows[1], rows
    assert all(len(r) == len(header) for r in rows), [header] + rows
    assert "[selftest: NVE steps] 20/20" in p.stderr and "ghost" in p.stderr
