# Vigie: `make demo` then `make test` on a fresh machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3.11
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
SPARK_VENV := .venv-spark
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False
export UV_PYTHON := $(PYTHON)
# Compiled once at install: where PYTHONDONTWRITEBYTECODE is set, every `vigie run` and every dbt call would
# otherwise recompile Dagster, dbt and Great Expectations from source (~10 s of a small run).
export UV_COMPILE_BYTECODE := 1

.PHONY: install spark-runtime check-defs demo test test-spark ui lint bench clean

$(UV):
	$(PYTHON) -m pip install --user --quiet uv

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $@

install: $(VENV)/.installed

# pyspark, apart from Vigie's environment (tests/spark/requirements.txt says why), for the Spark tests
$(SPARK_VENV)/.installed: tests/spark/requirements.txt | $(UV)
	$(UV) venv --quiet --allow-existing $(SPARK_VENV)
	$(UV) pip install --quiet --require-hashes --python $(SPARK_VENV)/bin/python -r tests/spark/requirements.txt
	touch $@

spark-runtime: $(SPARK_VENV)/.installed

# Exit code 2 means the run completed and listed input problems: the sample firm holds one on purpose.
demo: install
	$(VENV)/bin/vigie demo --home vigie_home || [ $$? -eq 2 ]

# Dagster's own tools must load the code location as it is, on a home that has never run.
check-defs: install
	VIGIE_HOME=$$(mktemp -d)/home $(VENV)/bin/dg check defs

# One worker more than the cores: a worker often waits (on a dbt process, the Spark server, a run it started), and
# with one per core the CPU sat idle 15 % of the suite. 2-core machine: 17 min 29 s with 2 workers, 12 min 59 s with 3
# (that one with the Spark build 1 min lighter).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

test: check-defs spark-runtime
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -q

# The dbt project on a Spark Thrift Server started from pyspark (Java 17); `make test` runs these tests too.
test-spark: install spark-runtime
	$(VENV)/bin/pytest -q tests/spark

ui: install
	$(VENV)/bin/vigie ui --home vigie_home

lint: check-defs
	$(VENV)/bin/ruff check .
	# dbt's artefacts go to a temporary folder, never the source tree (which may be read-only)
	scratch=$$(mktemp -d) && VIGIE_WAREHOUSE_DB=$$scratch/lint.duckdb DBT_TARGET_PATH=$$scratch/target \
		DBT_LOG_PATH=$$scratch/logs $(VENV)/bin/sqlfluff lint dbt_project/models

bench: install
	$(VENV)/bin/python -m bench.run

clean:
	rm -rf vigie_home dbt_project/target dbt_project/logs .pytest_cache
