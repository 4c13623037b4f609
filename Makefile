# Two commands on a fresh machine: `make figures` (the analysis) and `make test`.
# Both create .venv and install the package into it when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATA ?= data/generated

export MPLBACKEND := agg
# JAX is the fastest backend for training here (benchmarks/bench_fit.py); TensorFlow stays
# installed and tested: `make test` reruns the model tests under it. Override with
# `make figures KERAS_BACKEND=tensorflow`.
export KERAS_BACKEND ?= jax
OTHER_BACKEND := $(if $(filter jax,$(KERAS_BACKEND)),tensorflow,jax)
export TF_CPP_MIN_LOG_LEVEL := 2
# JAX keeps its compiled programs on disk: every notebook kernel, test process and scan worker
# trains the same few model shapes, and compiling them costs about 10 s per process.
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/runs/jax_cache
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS ?= 0

.PHONY: install figures data test wheel-check bench lab clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Regenerated (--force: these are the package's own files) when any file is missing or was
# written by another generator version.
data: | $(INSTALLED)
	$(BIN)/python -m vaednn.simulate --check $(DATA) || $(BIN)/vaednn simulate --out $(DATA) --force

figures: data
	$(BIN)/vaednn summary --data $(DATA)
	$(BIN)/vaednn reproduce

# The wheel, not the editable install: built, installed into a fresh venv and smoke-tested
# from outside the source tree (.ci/wheel_check.py says how). First, as it takes seconds.
wheel-check: install
	$(BIN)/python .ci/wheel_check.py

test: install wheel-check
	VAEDNN_QUICK=1 $(BIN)/python -m pytest -n 2 --dist loadfile --ignore=tests/test_scan_cluster.py
	# Alone: a Ray head started while the other worker keeps both cores busy can time out.
	VAEDNN_QUICK=1 $(BIN)/python -m pytest tests/test_scan_cluster.py
	VAEDNN_QUICK=1 KERAS_BACKEND=$(OTHER_BACKEND) $(BIN)/python -m pytest -n 2 --dist loadfile \
		tests/test_models.py tests/test_training.py tests/test_explain.py

bench: install
	for bench in benchmarks/bench_*.py; do echo "== $$bench"; $(BIN)/python $$bench || exit 1; done

lab: install
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) $(DATA)
