#!/bin/bash
# Regenerate every DFT reference JSON (see README.md).  Idempotent: finished
# calculations are cached in ${UMLIP_DFT_SCRATCH:-<repo>/.cache/dft-scratch}.
# Usage: bash python/umlip/bench/reference/run_all.sh [gpaw|pyscf|all]
set -euo pipefail
cd "$(dirname "$0")/../../../.."          # repo root
REF=python/umlip/bench/reference
MPI="nice -n 19 mpiexec --allow-run-as-root --mca mpi_yield_when_idle 1 -n ${NPROC:-2} gpaw python"
what=${1:-all}
if [[ $what == pyscf || $what == all ]]; then
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} nice -n 19 .venv-ref/bin/python $REF/dissociation_curves.py
fi
if [[ $what == gpaw || $what == all ]]; then
  $MPI $REF/h_cu111.py bulk sites conv
  $MPI $REF/phonons.py
  $MPI $REF/cu_adatom.py
  $MPI $REF/h_cu111.py bulk sites conv pairs neb
fi
