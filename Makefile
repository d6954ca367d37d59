# Two entry points (see README):
#   make reproduce   -- set up .venv if needed, train and execute the notebooks at `cpu` scale
#                       (ONLY=01 for one notebook: its runs, its execution, its verification table)
#   make test        -- set up .venv if needed, unit tests + nbval over notebooks at `smoke` scale
#                       (the unit tests include tests/test_records.py: the committed notebooks and
#                       results/*.csv must be what the committed run records produce)
# and a quick path for readers:
#   make render      -- the notebooks from the committed run records in results/records, no training
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.piltools-installed
SCALE  ?= cpu
ONLY   ?=

.PHONY: reproduce render test unit notebooks-test setup clean-runs

setup: $(STAMP)

# Versions we tested are pinned in constraints.txt (torch comes from the
# local wheel on the project's machines; see README).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

reproduce: $(STAMP)
	$(PY) -m piltools reproduce --scale $(SCALE) $(if $(ONLY),--only $(ONLY))

render: $(STAMP)
	PILTOOLS_RECORDS=only $(PY) -m piltools reproduce --scale $(SCALE) $(if $(ONLY),--only $(ONLY))

test: unit notebooks-test

unit: $(STAMP)
	PILTOOLS_SCALE=smoke $(PY) -m pytest -q tests

notebooks-test: $(STAMP)
	PILTOOLS_SCALE=smoke PILTOOLS_QUIET=1 $(PY) -m pytest -q --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg --nbval-cell-timeout=900 notebooks

clean-runs:
	rm -rf results/runs
