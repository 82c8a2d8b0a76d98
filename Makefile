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
# students' own copies of the notebooks (make student-lab); never overwritten once written
STUDENT_DIR ?= my-notebooks
# who `make slides` and `make book` build for: student (no solutions) or instructor (marked)
EDITION ?= student
# where the student copies will be published on GitHub (OWNER/REPO/blob/BRANCH/FOLDER): `make student`
# then starts each copy with a link that opens it on Colab
COLAB ?=
EDITION_SUFFIX := $(if $(filter instructor,$(EDITION)),-instructor,)
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
# the versions the class hub was tested with (see docs/instructor.md)
HUB_PINS ?= jupyterhub==6.1.1 jupyterhub-idle-culler==2.0.0
PROXY_PIN ?= configurable-http-proxy@5.3.0

.PHONY: help student-lab lab test dashboard present doctor slides book student bench clean-cache hub-tools hub-proxy

help:
	@echo "make student-lab  STUDENTS: your own copies of the notebooks (no solutions) in $(STUDENT_DIR)/, in JupyterLab"
	@echo "make lab        INSTRUCTORS: JupyterLab on notebooks/ (solutions, rubrics, sources; creates .venv on first run)"
	@echo "make test       run the whole test suite (unit, notebooks, browser)"
	@echo "make dashboard  serve the live-demo dashboard with Voila"
	@echo "make present    serve a notebook as live reveal.js slides with Voila (NB=04_emap)"
	@echo "make doctor     check the installation"
	@echo "make slides     the students' offline reveal.js decks (build/slides); EDITION=instructor: with solutions (build/slides-instructor)"
	@echo "make book       the students' course website, offline (build/book); EDITION=instructor: with solutions (build/book-instructor)"
	@echo "make student    write fresh student copies of the notebooks to hand out (build/student)"
	@echo "make bench      run the benchmarks"
	@echo "make hub-tools  JupyterHub, its idle culler and proxy for a class (then: grounding-kit hub init DIR)"

$(VENV)/.kit-installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PINS)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The instructor's tools (nbgrader, decks, live slides, the book, the dashboard's offline assets).
$(VENV)/.course-installed: $(VENV)/.kit-installed
	$(BIN)/python -m pip install --quiet -e '.[course]'
	touch $@

$(VENV)/.test-installed: $(VENV)/.kit-installed
	$(BIN)/python -m pip install --quiet -e '.[test,hub]' $(HUB_PINS)
	@$(MAKE) --no-print-directory hub-proxy
	touch $@

# A class on JupyterHub (docs/instructor.md): the hub, its idle culler and its proxy, in the kit's environment.
hub-tools: $(VENV)/.hub-installed
$(VENV)/.hub-installed: $(VENV)/.course-installed
	$(BIN)/python -m pip install --quiet -e '.[course,hub]' $(HUB_PINS)
	@$(MAKE) --no-print-directory hub-proxy
	touch $@

# The class hub's proxy (npm) goes into the kit's environment, not the system: $(VENV)/bin/configurable-http-proxy
hub-proxy: $(BIN)/configurable-http-proxy
$(BIN)/configurable-http-proxy:
	npm install --global --prefix $(VENV) --no-fund --no-audit $(PROXY_PIN)

# The student's entry point: copies without solutions, written once (your answers are kept), opened in JupyterLab.
student-lab: $(VENV)/.kit-installed
	$(BIN)/python -m grounding_kit.course student --output $(STUDENT_DIR) --keep-existing
	@echo "Starting JupyterLab on your copies in $(STUDENT_DIR)/ at http://127.0.0.1:$(PORT)/lab (the URL with its token follows)"
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir=$(CURDIR)/$(STUDENT_DIR) $(ROOT_FLAG)

# The instructor's: notebooks/ holds the solutions, the rubrics and source/.
lab: $(VENV)/.kit-installed
	@echo "Starting JupyterLab on notebooks/ (the instructor's copies, with solutions) at http://127.0.0.1:$(PORT)/lab (the URL with its token follows)"
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir=$(CURDIR)/notebooks $(ROOT_FLAG)

# The browser first (fails at once, in one line, where none can be had), then the Python stack,
# then Playwright's own browser where that is the only way (see scripts/ensure_browser.sh).
test:
	@bash scripts/ensure_browser.sh system
	@$(MAKE) --no-print-directory $(VENV)/.test-installed
	@bash scripts/ensure_browser.sh playwright $(BIN)/python
	HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest $(PYTEST_ARGS)

dashboard: $(VENV)/.course-installed
	$(BIN)/grounding-kit dashboard --port $(DASHBOARD_PORT)

present: $(VENV)/.course-installed
	$(BIN)/grounding-kit present $(NB) --port $(PRESENT_PORT)

doctor: $(VENV)/.kit-installed
	$(BIN)/grounding-kit doctor

slides: $(VENV)/.course-installed
	$(BIN)/python -m grounding_kit.course slides --edition $(EDITION) --output build/slides$(EDITION_SUFFIX)

book: $(VENV)/.course-installed
	$(BIN)/python -m grounding_kit.course book --edition $(EDITION) --output build/book$(EDITION_SUFFIX)

student: $(VENV)/.course-installed
	$(BIN)/python -m grounding_kit.course student --output build/student $(if $(COLAB),--colab $(COLAB),)

bench: $(VENV)/.test-installed
	for script in benchmarks/*_bench.py; do HF_HUB_OFFLINE=1 $(BIN)/python $$script --quick || exit 1; done

clean-cache:
	rm -rf "$${GROUNDING_KIT_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/grounding_kit}"
