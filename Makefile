# nianbao — two commands for everyone: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
ifeq ($(OS),Windows_NT)
  BIN := $(VENV)/Scripts
else
  BIN := $(VENV)/bin
endif
PY := $(BIN)/python

.PHONY: demo test lint templates bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

demo: $(BIN)/.installed  ## build a demo inbox of a fictional city and run the whole job on it
	$(PY) -m processor demo

test: $(BIN)/.installed  ## the whole test suite (LibreOffice tests run where soffice exists)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(BIN)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

templates: $(BIN)/.installed  ## regenerate the blank templates in workbook_templates/
	$(PY) -m processor template --all -o workbook_templates

bench: $(BIN)/.installed  ## province-scale benchmark (N=10000 by default)
	$(PY) bench/run.py --n $${N:-10000}

clean:
	rm -rf $(VENV) .pytest_cache demo
