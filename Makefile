# Two commands for a fresh machine with python3:  make demo   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint typecheck unit venv browser bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,demo]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

## make demo: set everything up, start the embedded demo account, scan it, write reports/<run-id>/
demo: $(STAMP)
	$(BIN)/scanner demo --config config.yaml

## make test: lint, type-check and run every test (installs Chromium for the browser tests if missing)
test: $(STAMP) browser lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check scanner tests benchmarks
	$(BIN)/ruff format --check scanner tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 -q

## Debian's chromium for the HTML report tests (CI runs as root on Debian)
browser:
	@command -v chromium >/dev/null 2>&1 || (command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ) || \
	  echo "warning: could not install chromium; the browser tests will fail"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_paths.py
	$(BIN)/python benchmarks/bench_scan.py
	$(BIN)/python benchmarks/bench_store.py --runs 30
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_tickets.py
	$(BIN)/python benchmarks/bench_calls.py
	$(BIN)/python benchmarks/bench_org.py --accounts 1 3 --notebooks 50 --vpcs 10 --roles 250 --ceiling 8-threads:3

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
