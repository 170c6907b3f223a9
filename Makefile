# fhirmony — the README's quick start is `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed

.PHONY: setup browser demo test lint ui bench-views bench-ingest bench-quality report-screenshot clean

setup: $(STAMP)

$(STAMP): pyproject.toml uv.lock setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(BIN)/pip install --quiet uv==0.13.8
	$(UV) sync --frozen --inexact --extra dev --compile-bytecode --python $(BIN)/python
	touch $(STAMP)

# Headless Chromium for the steward-report browser test (Debian packages; needs root and apt-get).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and chromium-driver (for the report test)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium not installed and not root: the browser test will skip"; fi

demo: setup
	$(BIN)/fhirmony demo

test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ui: setup
	$(BIN)/fhirmony ui --host 127.0.0.1

bench-views: setup
	$(BIN)/python benchmarks/bench_views.py

bench-ingest: setup
	$(BIN)/python benchmarks/bench_ingest.py

bench-quality: setup
	$(BIN)/python benchmarks/bench_quality.py

# A PNG of the steward report: of the newest release if there is one, else of a synthetic sample.
report-screenshot: setup browser
	@release=$$($(BIN)/python -c "from fhirmony.home import Home; from fhirmony.publish.release import list_releases; r = list_releases(Home.from_env()); print(r[0]['path'] if r else '')"); \
	if [ -n "$$release" ]; then $(BIN)/python -m fhirmony.quality.browser "$$release" -o report.png; \
	else $(BIN)/python -m fhirmony.quality.browser --sample -o report.png; fi
	@echo "wrote report.png"

clean:
	rm -rf $(VENV) .fhirmony .pytest_cache .ruff_cache build *.egg-info
