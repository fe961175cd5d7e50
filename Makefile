# Two entry points: `make run` (the embedded default campaign) and `make test`.
PYTHON ?= python3
VENV ?= .venv
CORES ?= all
ARGS ?=

.PHONY: run slurm test lint bench clean-venv

# Snakemake through synthpt.launch: after any kill, the same command finishes the campaign.
LAUNCH = PYTHONPATH=workflow $(VENV)/bin/python -m synthpt.launch

run: $(VENV)/.installed
	$(LAUNCH) --cores $(CORES) $(ARGS)

slurm: $(VENV)/.installed
	$(LAUNCH) --profile slurm $(ARGS)

test: $(VENV)/.installed-dev
	$(VENV)/bin/python -m pytest -q tests

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check workflow tests bench
	$(VENV)/bin/ruff format --check workflow tests bench
	$(VENV)/bin/snakefmt --check Snakefile workflow/rules
	$(VENV)/bin/snakemake --lint

# torch is pinned in the same command as everything that depends on it (other versions pull the CUDA packages).
$(VENV)/.installed: requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	touch $@

clean-venv:
	rm -rf $(VENV)
