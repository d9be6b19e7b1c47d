# Two commands for a newcomer: `make demo` and `make test`. See README.md.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= data/demo
PRESET ?= quick_start
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help install demo demo-faults demo-data up down status test lint bench check-honesty clean-runs

help:
	@echo "make demo       install, make demo data, start Airflow + MLflow, run $(PRESET), summary"
	@echo "make test       the test suite (pytest)"
	@echo "make up|down|status   the embedded stack (Airflow UI :8080, MLflow UI :5000)"
	@echo "make demo-faults run $(PRESET), SIGKILL a training task mid-epoch, watch the retry resume"
	@echo "make demo-data  generate the demo data folder ($(DATA))"
	@echo "make lint       check the layer contracts, validate every preset and its DAG file"
	@echo "make bench      run the bench/ scripts"
	@echo "make check-honesty  mutate a copy (fake loss curve, random CPU, constant accuracy, ...): tests must fail"

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys, pip; assert sys.prefix != sys.base_prefix' 2>/dev/null \
		|| { rm -rf $(VENV); $(PY) -m venv $(VENV); }
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m pip check
	$(PYTHON) -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'training_platform.pth').write_text('$(CURDIR)\n$(CURDIR)/plugins\n')"
	@touch $(STAMP)

install: $(STAMP)

demo-data: install
	$(PYTHON) -m training_lib demo-data --out $(DATA)

up: install
	$(PYTHON) -m training_lib stack up

down:
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m training_lib stack down; else echo "nothing installed, nothing running"; fi

status:
	@$(PYTHON) -m training_lib stack status

demo:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory install demo-data up && \
	$(PYTHON) -m training_lib train --preset $(PRESET) --data $(DATA); rc=$$?; \
	echo "make demo took $$(( $$(date +%s) - start ))s (install, demo data, stack start, training)"; \
	exit $$rc

demo-faults:
	$(MAKE) --no-print-directory install demo-data up && \
	$(PYTHON) -m training_lib demo-faults --preset $(PRESET) --data $(DATA)

test: install
	$(VENV)/bin/lint-imports --no-cache
	$(PYTHON) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

lint: install
	$(VENV)/bin/lint-imports --no-cache
	$(PYTHON) -m training_lib presets check

check-honesty: install
	$(PYTHON) bench/check_honesty.py

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(PYTHON) $$script || exit $$?; done

clean-runs:
	rm -rf var/runs
