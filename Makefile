# Two commands set up everything on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# The CPU build of torch; override (e.g. TORCH_SPEC="torch>=2.2") on machines with a GPU.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: demo test bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(PY) -m sklearn_slaf demo

test: $(VENV)/.installed
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) benchmarks/slaf_layer.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
