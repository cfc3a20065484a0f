# Two commands matter: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt-installed
TORCH_VERSION := 2.13.0

.PHONY: demo test setup system-packages checkpoint checkpoint-split benchmark clean

setup: system-packages $(STAMP)

# Debian packages listed in packages.txt (Hugging Face Space convention), when apt exists
# and something is missing. Skipped silently on machines without apt.
system-packages: $(APT_STAMP)
$(APT_STAMP): packages.txt | $(VENV)/bin/python
	@if command -v apt-get >/dev/null 2>&1; then \
		missing=$$(for p in $$(grep -v '^\s*#' packages.txt); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "Installing Debian packages: $$missing"; \
			SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
		fi; \
	else echo "apt-get not found: install the packages in packages.txt yourself"; fi
	@touch $@

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch goes first, pinned: a bare `torch` requirement would pull the CUDA build.
$(STAMP): requirements.txt pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q torch==$(TORCH_VERSION)
	$(PIP) install -q -r requirements.txt
	@touch $@

demo: setup
	$(PY) app.py

test: setup
	$(PY) -m pytest -q

# Retrain the shipped default checkpoint (assets/checkpoint) from the BEAT2 clip in ../shared.
checkpoint: setup
	$(PY) -m training.default_checkpoint

# The same recipe on the first 75 % of the clip: the time split of benchmarks/motion_quality.py.
checkpoint-split: setup
	$(PY) -m training.default_checkpoint --train-fraction 0.75 --work runs/time_split \
		--out runs/time_split/pipeline

benchmark: setup
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
