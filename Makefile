# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml scripts/install-debian.sh
	bash scripts/install-debian.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/nimbus server

test: install
	$(BIN)/ruff check nimbus tests bench
	$(BIN)/ruff format --check -q nimbus tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check nimbus tests bench
	$(BIN)/ruff format --check -q nimbus tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .nimbus
