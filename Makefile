# fhirmony — the README's quick start is `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-unit lint ui bench-views bench-ingest bench-quality clean

setup: $(STAMP)

$(STAMP): pyproject.toml uv.lock setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(BIN)/pip install --quiet uv==0.13.8
	$(UV) sync --frozen --inexact --extra dev --compile-bytecode --python $(BIN)/python
	touch $(STAMP)

demo: setup
	$(BIN)/fhirmony demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ui: setup
	$(BIN)/fhirmony ui

bench-views: setup
	$(BIN)/python benchmarks/bench_views.py

bench-ingest: setup
	$(BIN)/python benchmarks/bench_ingest.py

bench-quality: setup
	$(BIN)/python benchmarks/bench_quality.py

clean:
	rm -rf $(VENV) .fhirmony .pytest_cache .ruff_cache build *.egg-info
