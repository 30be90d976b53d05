# The two commands: `make run` and `make test`. Both bootstrap what they need.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
AZURITE := devtools/azurite/node_modules/.bin/azurite

.PHONY: run test bootstrap lint unit clean

run: bootstrap
	$(BIN)/python -m devtools.run

test: bootstrap lint
	$(BIN)/python -m pytest

bootstrap: $(VENV)/.installed $(AZURITE)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(AZURITE): devtools/azurite/package.json devtools/azurite/package-lock.json
	cd devtools/azurite && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit tests/service

clean:
	rm -rf $(VENV) devtools/azurite/node_modules .pytest_cache .ruff_cache .run
