# Two commands matter: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
APT_STAMP := $(VENV)/.apt-installed
APT_TEST_STAMP := $(VENV)/.apt-test-installed
# The torch pin of requirements.txt (torch==2.13.0+cpu) without its local label: pip takes the
# CPU wheel this machine (and CI) holds locally. Elsewhere give the CPU index to avoid the CUDA
# build: make TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_VERSION := $(shell sed -n 's/^torch==\([0-9.]*\).*/\1/p' requirements.txt)
TORCH_INDEX ?=

.PHONY: demo test setup setup-dev system-packages test-system-packages checkpoint \
	checkpoint-split benchmark clean

# The Khronos glTF validator (npm, pinned by its package-lock.json) that the tests run on the
# .glb and .vrma exports; node comes from packages-test.txt, npm with it or from Debian. Defined
# before setup-dev, whose prerequisite list expands it when read.
VALIDATOR_DIR := tests/gltf_validator
VALIDATOR_STAMP := $(VALIDATOR_DIR)/node_modules/.installed

# What the demo needs (as on the Space); setup-dev adds the tests, training and benchmarks.
setup: system-packages $(STAMP)
setup-dev: setup test-system-packages $(DEV_STAMP) $(VALIDATOR_STAMP)

# Debian packages listed in a file, when apt exists and something is missing; skipped with a
# note on machines without apt. packages.txt: the demo's (the Space installs it too);
# packages-test.txt: the tests' and training's only.
define apt_install
	@if command -v apt-get >/dev/null 2>&1; then \
		missing=$$(for p in $$(grep -v '^\s*#' $(1)); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "Installing Debian packages: $$missing"; \
			SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
		fi; \
	else echo "apt-get not found: install the packages in $(1) yourself"; fi
	@touch $@
endef

system-packages: $(APT_STAMP)
$(APT_STAMP): packages.txt | $(VENV)/bin/python
	$(call apt_install,packages.txt)

test-system-packages: $(APT_TEST_STAMP)
$(APT_TEST_STAMP): packages-test.txt | $(VENV)/bin/python
	$(call apt_install,packages-test.txt)

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch goes first, from the local wheel or TORCH_INDEX; then requirements.txt without its two
# torch lines (the CPU index is unreachable here and would be retried for every package).
$(STAMP): requirements.txt | $(VENV)/bin/python
	$(PIP) install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	grep -v -e '^--extra-index-url' -e '^torch==' requirements.txt > $(VENV)/requirements-app.txt
	$(PIP) install -q -r $(VENV)/requirements-app.txt
	@touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.txt pyproject.toml
	$(PIP) install -q -r requirements-dev.txt
	@touch $@


$(VALIDATOR_STAMP): $(VALIDATOR_DIR)/package-lock.json | $(APT_TEST_STAMP)
	@command -v npm >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }
	cd $(VALIDATOR_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: setup
	$(PY) app.py

# The linter and the formatter (configured in pyproject.toml) first, then the whole suite.
test: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q --durations=15

# Retrain the shipped default checkpoint (assets/checkpoint) from the BEAT2 sample in data/beat2.
# make checkpoint BEAT2=PATH/beat_english_v2.0.0: the same recipe on a full BEAT2 download
# (train split; evaluated on its test split), into runs/beat2_checkpoint/pipeline.
BEAT2 ?=
checkpoint: setup-dev
	$(PY) -m training.default_checkpoint $(if $(BEAT2),--beat2 "$(BEAT2)")
	$(PY) -m training.live $(if $(BEAT2),--beat2 "$(BEAT2)" --pipeline runs/beat2_checkpoint/pipeline)

# The same recipe on the first 75 % of the clip: the time split of benchmarks/motion_quality.py.
checkpoint-split: setup-dev
	$(PY) -m training.default_checkpoint --train-fraction 0.75 --work runs/time_split \
		--out runs/time_split/pipeline

benchmark: setup-dev
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache $(VALIDATOR_DIR)/node_modules
