# microturn: two commands do all the set-up.
#   make demo   create .venv, install everything, start `microturn dev` on the default app
#   make test   create .venv, install everything, run the whole test suite
# Both are idempotent; a second run only reinstalls when pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYSTAMP := $(VENV)/.system-packages
# Debian packages the tests need: the browser for end-to-end tests, espeak-ng and sox to make
# test audio by hand. The product itself needs none of them (speech ships in the wheels).
APT_PACKAGES := chromium espeak-ng sox
PYTEST_ARGS ?=

.PHONY: demo test install system-packages clean proto

demo: install
	$(BIN)/microturn dev $(APP)

test: install system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

# torch is pinned and installed first: the CPU build lies on these machines, and anything that
# pulls torch unpinned would otherwise resolve a multi-GB CUDA build. pip, not uv or poetry,
# because only pip looks at the local torch file.
$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

system-packages: $(SYSTAMP)

$(SYSTAMP):
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then touch $(SYSTAMP); \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  (apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null)) && touch $(SYSTAMP); \
	else \
	  echo "NOTE: Debian packages missing:$$missing"; \
	  echo "      run as root: apt-get install -y$$missing   (browser tests are skipped without chromium)"; \
	fi

proto: install
	$(BIN)/python -m microturn.runtime.reasoner.protogen

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
