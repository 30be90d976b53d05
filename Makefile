# The two commands: `make run` and `make test`. Both bootstrap what they need.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
AZURITE := devtools/azurite/node_modules/.bin/azurite
CHROMIUM := /usr/bin/chromium
# checkov has a venv of its own: its pins conflict with requirements-dev.txt's (requirements-checkov.txt).
CHECKOV_VENV := .venv-checkov

.PHONY: run test bootstrap lint unit clean checkov mutation

run: bootstrap
	$(BIN)/python -m devtools.run

test: bootstrap $(CHROMIUM) lint $(CHECKOV_VENV)/.installed
	CALSYNC_CHECKOV=$(abspath $(CHECKOV_VENV)/bin/checkov) $(BIN)/python -m pytest

bootstrap: $(VENV)/.installed $(AZURITE)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The offline policy check of infra/ (tests/deploy/test_checkov.py).
checkov: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

$(AZURITE): devtools/azurite/package.json devtools/azurite/package-lock.json
	cd devtools/azurite && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The console's browser tests drive Debian's Chromium (Playwright's own browser download is
# not reachable); as root it is installed here, otherwise the command to run is printed.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "the browser tests need Chromium: sudo apt-get install chromium" >&2; exit 1; \
	fi

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit tests/service

# Mutation testing of the pure planners and mappers (not part of `make test`: it takes long).
# Scores per module: docs/mutation.md. Survivors: `.venv/bin/mutmut results`, `mutmut show <name>`.
mutation: $(VENV)/.installed
	rm -rf mutants
	$(BIN)/mutmut run
	$(BIN)/python -m devtools.mutation_scores

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) devtools/azurite/node_modules .pytest_cache .ruff_cache .run mutants
