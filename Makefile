# Customer Master — two commands on a fresh machine with Python 3.11 and pip:
#   make demo   # environment, demo exports, whole pipeline, summary
#   make test   # the test suite
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := demo
DEMO_CUSTOMERS ?= 2000
DEMO_SEED ?= 7
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME := $(CURDIR)/.dagster_home
# Python caches compiled modules in __pycache__ unless PYTHONDONTWRITEBYTECODE is set (some
# machines set it): without the cache every process compiles Dagster, Splink and Great
# Expectations again, 20 s instead of 8 s here, and the tests start many processes.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo run serve test lint format dagster bench bench-matching bench-lookup bench-service bench-accuracy bench-pipeline bench-forecast clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==0.13.9

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra dev --extra spark --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed  ## create .venv with the locked dependencies

demo: install  ## generate the demo exports and run the whole pipeline on them
	$(BIN)/custmaster demo-data --out $(DEMO_DIR) --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED)
	$(BIN)/custmaster run --config config/demo.yaml

run: install  ## run the pipeline on CONFIG (default: the demo)
	$(BIN)/custmaster run $(if $(CONFIG),--config $(CONFIG),)

serve: install  ## the HTTP API over CONFIG's last published master (HOST, PORT: see custmaster serve)
	$(BIN)/custmaster serve $(if $(CONFIG),--config $(CONFIG),) $(if $(HOST),--host $(HOST),) $(if $(PORT),--port $(PORT),)

test: install  ## run the test suite on every core (pytest-xdist); demos are built once and shared
	$(BIN)/pytest -q -n auto --dist worksteal --durations=15

lint: install  ## ruff lint and format check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy sources matching quality warehouse service

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

dagster: install  ## Dagster UI and daemon (schedule, sensor) on the project-local instance
	@$(BIN)/python -c 'from pathlib import Path; from pipelines.instance import ensure_dagster_home; ensure_dagster_home(Path("$(DAGSTER_HOME)"))'
	$(BIN)/dagster dev

bench: install  ## ingest + standardise benchmark (N=$(BENCH_RECORDS) records)
	$(BIN)/python benchmarks/bench_ingest_standardise.py $(if $(BENCH_RECORDS),--records $(BENCH_RECORDS),)

bench-matching: install  ## matching stage benchmark: training, prediction, clustering (N=$(BENCH_RECORDS); BENCH_BACKEND=spark: Spark local[2] beside DuckDB)
	$(BIN)/python benchmarks/bench_matching.py $(if $(BENCH_RECORDS),--records $(BENCH_RECORDS),) $(if $(BENCH_BACKEND),--backend $(BENCH_BACKEND),)

bench-lookup: install  ## duplicate-check latency against a master of N=$(BENCH_RECORDS) source records
	$(BIN)/python benchmarks/bench_lookup.py $(if $(BENCH_RECORDS),--records $(BENCH_RECORDS),)

bench-pipeline: install  ## whole sync at N=$(BENCH_RECORDS) records, then after a 1% delta, then unchanged
	$(BIN)/python benchmarks/bench_pipeline.py $(if $(BENCH_RECORDS),--records $(BENCH_RECORDS),)

bench-service: install  ## HTTP service: start-up, latency from 1 and 8 clients, hit rate (N=$(BENCH_RECORDS))
	$(BIN)/python benchmarks/bench_service.py $(if $(BENCH_RECORDS),--records $(BENCH_RECORDS),)

bench-accuracy: install  ## accuracy of the pipeline's matching beside plain Splink on a demo
	$(BIN)/python benchmarks/bench_matching_accuracy.py

bench-forecast: install  ## sales-forecast backtest beside the seasonal-naive baseline, on CONFIG's warehouse
	$(BIN)/python benchmarks/bench_forecast.py $(if $(CONFIG),--config $(CONFIG),)

clean:
	rm -rf $(DEMO_DIR) .dagster_home
