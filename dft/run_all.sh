#!/bin/bash
# Regenerate every DFT data file (see README.md).  Idempotent: finished calculations are
# cached in ${UMLIP_DFT_SCRATCH:-<repo>/.cache/dft-scratch}.
# Usage: bash dft/run_all.sh [gpaw|pyscf|all]
set -euo pipefail
cd "$(dirname "$0")/.."                   # repository root
# the recipes import umlip.io / umlip.validation.systems from the source tree and the shared
# recipe helpers (_meta, _gpaw_common, h_cu111) from dft/
export PYTHONPATH="$PWD/python:$PWD/dft"
MPI="nice -n 19 mpiexec --allow-run-as-root --mca mpi_yield_when_idle 1 -n ${NPROC:-2} gpaw python"
what=${1:-all}
if [[ $what == pyscf || $what == all ]]; then
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} nice -n 19 .venv-ref/bin/python dft/dissociation_curves.py
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} nice -n 19 .venv-ref/bin/python dft/cu2_relativistic.py
fi
if [[ $what == gpaw || $what == all ]]; then
  $MPI dft/h_cu111.py bulk sites conv
  $MPI dft/phonons.py
  $MPI dft/cu_adatom.py
  $MPI dft/h_cu111.py bulk sites conv pairs neb
  $MPI dft/molecules_paw.py
fi
python3 dft/verify.py
