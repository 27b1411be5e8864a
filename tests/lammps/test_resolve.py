"""Model name -> model file, the one explicit step between a name and the pair style:
`umlip resolve NAME` prints only the path on stdout, or exits 1 with one line "umlip: ..." on
stderr that names what to set; the pair style passes the progress on and reports that line as
its error."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def resolve(name, **env):
    return subprocess.run([sys.executable, "-m", "umlip", "resolve", name], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, **env))


def test_file_path_alone_on_stdout(analytic_model):
    p = resolve(analytic_model)
    assert p.returncode == 0 and p.stdout == analytic_model + "\n" and p.stderr == "", p


@pytest.mark.parametrize("case,setting,message", [
    ("unknown name", None, "'7net-nope' is neither a model file nor a known model name"),
    ("missing interpreter", "UMLIP_SEVENN_PYTHON", "/nonexistent/python does not exist"),
])
def test_failure_is_one_line(tmp_path, case, setting, message):
    env = {"UMLIP_CACHE_DIR": str(tmp_path / "cache"),
           "UMLIP_SEVENN_PYTHON": "/nonexistent/python"}
    p = resolve("7net-nope" if case == "unknown name" else "7net-0", **env)
    lines = p.stderr.splitlines()
    assert p.returncode == 1 and p.stdout == "", p
    assert len(lines) == 1 and lines[0].startswith("umlip: ") and message in lines[0], lines
    if setting:
        assert setting in lines[0], lines


def test_unusable_cache_named(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    # an interpreter that exists, so that the cache is the first thing that fails
    p = resolve("7net-0", UMLIP_CACHE_DIR=str(blocker / "cache"),
                UMLIP_SEVENN_PYTHON=sys.executable)
    lines = p.stderr.splitlines()
    assert p.returncode == 1 and p.stdout == "", p
    assert lines[-1].startswith("umlip: cannot use the model cache directory"), lines
    assert "UMLIP_CACHE_DIR" in lines[-1], lines


def run_lmp(tmp_path, body, **env):
    inp = tmp_path / "in.resolve"
    inp.write_text("units metal\natom_style atomic\nregion box block 0 5 0 5 0 5\n"
                   f"create_box 1 box\n{body}\n")
    proc = subprocess.run([str(BIN / "lmp"), "-in", str(inp), "-log", "none"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=dict(os.environ, **env))
    out = proc.stdout + proc.stderr
    return proc.returncode, [ln for ln in out.splitlines() if ln.startswith("ERROR")], out


def test_pair_style_reports_the_line(tmp_path):
    rc, errors, out = run_lmp(tmp_path, "pair_style umlip 7net-0",
                              UMLIP_CACHE_DIR=str(tmp_path / "cache"),
                              UMLIP_SEVENN_PYTHON="/nonexistent/python")
    assert rc != 0 and len(errors) == 1, out[-2000:]
    assert "could not resolve it as a model name: cannot export a sevenn model" in errors[0]
    assert "UMLIP_SEVENN_PYTHON" in errors[0] and "umlip: umlip" not in errors[0], errors


def test_pair_style_passes_progress_on(tmp_path):
    """A failing export (an interpreter that exits 1 at once): the progress line reaches the
    screen before the error line, which names the failed export."""
    rc, errors, out = run_lmp(tmp_path, "pair_style umlip 7net-0",
                              UMLIP_CACHE_DIR=str(tmp_path / "cache"),
                              UMLIP_SEVENN_PYTHON="/bin/false")
    assert rc != 0 and len(errors) == 1, out[-2000:]
    assert "umlip: exporting 7net-0 (sevenn) into the model cache" in out, out[-2000:]
    assert out.index("umlip: exporting 7net-0") < out.index(errors[0])
    assert "export in the sevenn environment (/bin/false) failed" in errors[0], errors
