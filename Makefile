# grounding_kit: one command to start, one to test. Run `make help` for the list.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# This environment's PyTorch (see shared/STACK_NOTES.md); elsewhere e.g. `make lab TORCH_PINS=torch`.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
PORT ?= 8888
DASHBOARD_PORT ?= 8866
NB ?= 04_emap
PRESENT_PORT ?= 8867
PYTEST_ARGS ?=
# the versions the class hub was tested with (see docs/instructor.md)
HUB_PINS ?= jupyterhub==6.1.1 jupyterhub-idle-culler==2.0.0
PROXY_PIN ?= configurable-http-proxy@5.3.0
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: help lab test dashboard present doctor slides book student bench clean-cache hub-proxy

help:
	@echo "make lab        start JupyterLab on notebooks/ (creates .venv on first run)"
	@echo "make test       run the whole test suite (unit, notebooks, browser)"
	@echo "make dashboard  serve the live-demo dashboard with Voila"
	@echo "make present    serve a notebook as live reveal.js slides with Voila (NB=04_emap)"
	@echo "make doctor     check the installation"
	@echo "make slides     execute the notebooks into offline reveal.js decks (build/slides)"
	@echo "make book       the course website, offline (build/book)"
	@echo "make student    write student copies of the notebooks (build/student)"
	@echo "make bench      run the benchmarks"

$(VENV)/.kit-installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PINS)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(VENV)/.kit-installed
	$(BIN)/python -m pip install --quiet -e '.[test,hub]' $(HUB_PINS)
	@$(MAKE) --no-print-directory hub-proxy
	touch $@

# The class hub's proxy (npm) goes into the kit's environment, not the system: $(VENV)/bin/configurable-http-proxy
hub-proxy: $(BIN)/configurable-http-proxy
$(BIN)/configurable-http-proxy:
	npm install --global --prefix $(VENV) --no-fund --no-audit $(PROXY_PIN)

lab: $(VENV)/.kit-installed
	@echo "Starting JupyterLab on http://127.0.0.1:$(PORT)/lab (the URL with its token follows)"
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir=$(CURDIR)/notebooks $(ROOT_FLAG)

# The browser first (fails at once, in one line, where none can be had), then the Python stack,
# then Playwright's own browser where that is the only way (see scripts/ensure_browser.sh).
test:
	@bash scripts/ensure_browser.sh system
	@$(MAKE) --no-print-directory $(VENV)/.test-installed
	@bash scripts/ensure_browser.sh playwright $(BIN)/python
	HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest $(PYTEST_ARGS)

dashboard: $(VENV)/.kit-installed
	$(BIN)/grounding-kit dashboard --port $(DASHBOARD_PORT)

present: $(VENV)/.kit-installed
	$(BIN)/grounding-kit present $(NB) --port $(PRESENT_PORT)

doctor: $(VENV)/.kit-installed
	$(BIN)/grounding-kit doctor

slides: $(VENV)/.kit-installed
	$(BIN)/python -m grounding_kit.course slides --output build/slides

book: $(VENV)/.kit-installed
	$(BIN)/python -m grounding_kit.course book --output build/book

student: $(VENV)/.kit-installed
	$(BIN)/python -m grounding_kit.course student --output build/student

bench: $(VENV)/.test-installed
	for script in benchmarks/*_bench.py; do HF_HUB_OFFLINE=1 $(BIN)/python $$script --quick || exit 1; done

clean-cache:
	rm -rf "$${GROUNDING_KIT_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/grounding_kit}"
