# lead — two commands: `make demo` and `make test`. Both set up first (idempotent).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help setup demo test bench clean

help:
	@echo "make demo   set up if needed, then run the main job on the embedded world"
	@echo "make test   set up if needed, then run the test suite"
	@echo "make bench  run the benchmarks in bench/ (ratios, one JSON line each)"
	@echo "make setup  create $(VENV), install pinned packages, build ros2_ws interfaces"
	@echo "make clean  remove build products (keeps $(VENV))"

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	@set -e; for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
