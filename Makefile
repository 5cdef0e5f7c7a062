# Two commands set up everything on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# The CPU build of torch; override (e.g. TORCH_SPEC="torch>=2.2") on machines with a GPU.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
# The oldest releases setup.cfg declares; `make test-oldest` runs the suite on them.
OLDEST_VENV ?= .venv-oldest
OLDEST_SPEC ?= numpy==1.24.4 scipy==1.10.1 scikit-learn==1.6.1
VERSIONS := import sys, numpy, scipy, sklearn, torch; \
	print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}, scipy {scipy.__version__}, " \
	      f"scikit-learn {sklearn.__version__}, torch {torch.__version__}")

.PHONY: demo test test-oldest versions bench docs clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test,dask,onnx]"
	touch $@

versions: $(VENV)/.installed
	@$(PY) -c '$(VERSIONS)'

demo: $(VENV)/.installed
	$(PY) -m sklearn_slaf demo

test: versions
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

# The documentation site (docs/_build/html), warnings as errors; the gallery runs every example.
# Offline, the intersphinx links to python/numpy/scikit-learn/torch are left out (docs/conf.py).
docs: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[docs]"
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

# The same suite on the declared minimum numpy/scipy/scikit-learn (with the same torch).
test-oldest:
	test -x $(OLDEST_VENV)/bin/python || $(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet "$(TORCH_SPEC)" $(OLDEST_SPEC)
	$(OLDEST_VENV)/bin/python -m pip install --quiet -e ".[test]" $(OLDEST_SPEC)
	@$(OLDEST_VENV)/bin/python -c '$(VERSIONS)'
	$(OLDEST_VENV)/bin/python -m pytest -n 2 $(PYTEST_ARGS)

# every benchmark script; each prints its table and writes it under benchmarks/results/ (tens of minutes)
BENCHMARKS := slaf_layer fit_speed predict_speed threads approximation paper_boston polynomial_reading scale data_parallel
bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[bench]"
	for b in $(BENCHMARKS); do $(PY) benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) $(OLDEST_VENV) build *.egg-info .pytest_cache docs/_build docs/generated docs/auto_examples
