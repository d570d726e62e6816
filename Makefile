# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test unit lint hooks bench clean

$(STAMP): pyproject.toml scripts/install-debian.sh
	bash scripts/install-debian.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/nimbus server

# Lint, format check, mypy --strict over nimbus, tests and bench (see [tool.mypy]), every test,
# on two workers (most tests wait on a server or a function; a test file stays on one worker,
# so its module-scoped server is started once).
test: lint
	$(BIN)/pytest -q -p no:cacheprovider -n 2 --dist loadfile

# The pure unit tests only (no server, no sandbox): seconds.
unit: install
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

lint: install
	$(BIN)/ruff check nimbus tests bench
	$(BIN)/ruff format --check -q nimbus tests bench
	$(BIN)/mypy

# Run ruff and mypy before each commit (.pre-commit-config.yaml; the hooks use this venv).
hooks: install
	$(BIN)/pre-commit install

bench: install
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .nimbus
