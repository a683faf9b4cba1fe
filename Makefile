# emopipe — `make` installs the Debian packages, checks them and builds; `make test` runs every test.
SWIFT      ?= swift
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# C libraries and tools the project needs, all from Debian's packages (slurm-wlm and munge: the cluster test's
# single-node SLURM cluster, tools/slurm/cluster.sh; libturbojpeg: PIL-exact JPEG crops; mkvtoolnix and sox: the
# official preprocessing that tools/official_fixture.sh runs to make the official-protocol fixture).
DEBS       := pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev \
              libfftw3-dev libopenblas-dev ffmpeg alsa-utils python3-pip \
              slurm-wlm munge libturbojpeg0-dev mkvtoolnix sox
PKGCONFIG  := libavformat libavcodec libavutil libswscale libswresample fftw3f openblas libturbojpeg
BIN        := .build/release/emopipe
# Where the face detector's weights go (emopipe looks there without flags; EMOPIPE_FACE_MODELS overrides both).
FACE_MODELS ?= $(or $(EMOPIPE_FACE_MODELS),$(HOME)/.local/share/emopipe/face)

.PHONY: all deps check-deps build test test-quick bench fixtures goldens clean face-eval face-models official-fixture

all: deps build face-models

deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "emopipe: installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	else echo "emopipe: Debian packages already installed"; fi
	@$(MAKE) --no-print-directory check-deps

check-deps:
	@for pc in $(PKGCONFIG); do \
	  pkg-config --exists $$pc || { echo "emopipe: pkg-config cannot find $$pc; run 'make deps' (apt-get install $(DEBS))" >&2; exit 1; }; \
	done; echo "emopipe: pkg-config finds $(PKGCONFIG)"

build:
	$(SWIFT) build -c release --product emopipe
	@echo "emopipe: built $(BIN)"

# Every test: unit tests, parity against ../shared/parity (skipped when absent), end-to-end CLI runs.
test: face-eval face-models official-fixture
	$(SWIFT) test

bench: build
	$(BIN) bench

# Regenerate the committed fixture clips and their expectations (needs ffmpeg/ffprobe).
fixtures:
	python3 Fixtures/make_fixtures.py

# Regenerate the pipeline regression goldens (Fixtures/goldens/*.csv) with the synthetic fixture model.
goldens: build
	tools/make_goldens.sh

# Face-detection evaluation pictures (Debian packages' sample photos + degraded variants) for Tests/FaceTests;
# made once, before the tests (apt-get download: nothing is installed).
face-eval:
	@[ -f .build/face-eval/.complete ] || { sh tools/face-eval-data.sh .build/face-eval && touch .build/face-eval/.complete; }

# The MTCNN face detector's weights: facenet-pytorch 2.6.0's wheel from PyPI (pip download --no-deps), sha256-checked,
# converted to safetensors by emopipe convert (tools/mtcnn_fetch.sh); done once.
face-models: build
	@sh tools/mtcnn_fetch.sh $(BIN) "$(FACE_MODELS)"

# The official-protocol comparison folder (tools/official_fixture.sh): real face video + real speech from PyPI
# wheels, re-encoded at 29.97 and 25 fps, the official audio preparation (mkvmerge, mkvextract, ffmpeg, SoX), JPEG
# crops with gaps; checked against Fixtures/official/fixture.sha256. Made before the tests, again when the committed
# sums change (a pulled commit that re-recorded the media).
official-fixture:
	@{ [ -f .build/official-fixture/.complete ] && cmp -s .build/official-fixture/fixture.sha256 Fixtures/official/fixture.sha256; } \
		|| sh tools/official_fixture.sh .build/official-fixture

clean:
	rm -rf .build
