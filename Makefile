# Two commands on a fresh machine with python3 and make:
#   make reproduce   - creates .venv, installs, checks every finding, writes report/
#   make test        - creates .venv if needed, runs the whole suite (notebooks included)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: reproduce test test-fast lint lab site bench reference clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[notebooks,test,dask,lint]"
	touch $(STAMP)

reproduce: $(STAMP)
	$(BIN)/evidence reproduce --html report/index.html --json report/findings.json

# lint first (ruff, mypy); the browser tests (tests/test_browser.py) read the site, so it is built before the suite.
test: $(STAMP) lint site
	$(BIN)/python -m pytest -n 2 tests evidence --doctest-modules -p no:cacheprovider

# ruff over the code, mypy over the package (configuration in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check evidence tests notebooks bench tools
	$(BIN)/mypy

test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -x -q -m "not slow and not notebooks"

# Every notebook executed and rendered with the report, the glossary and the explainer, into site/.
site: $(STAMP)
	$(BIN)/python tools/build_site.py --out site

# JupyterLab opens the notebooks' .py files as notebooks (jupytext; tools/jupyterlab-overrides.json).
lab: $(STAMP)
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp tools/jupyterlab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Regenerate the pinned metafor values (needs R with metafor and metadat).
# The tests regenerate them too, into a temporary folder, and fail on any difference.
reference:
	Rscript --vanilla tests/r/make_reference.R tests/reference
	Rscript --vanilla tests/r/or_intervals.R tests/reference/or_intervals.json
	Rscript --vanilla tests/r/toolkit_reference.R tests/reference/metafor_toolkit.json
	Rscript --vanilla tests/r/small_study_reference.R tests/reference/metafor_small_study.json
	Rscript --vanilla tests/r/gosh_bcg_reference.R tests/reference/metafor_gosh_bcg.json
	Rscript --vanilla tests/r/robust_reference.R tests/reference/clubsandwich.json
	Rscript --vanilla tests/r/robumeta_reference.R tests/reference/robumeta.json
	Rscript --vanilla tests/r/escalc_reference.R tests/reference/metafor_escalc.json
	Rscript --vanilla tests/r/multilevel_reference.R tests/reference/metafor_multilevel.json

clean:
	rm -rf $(VENV) report site screenshots .pytest_cache
