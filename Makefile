# One entry point for people and CI. `make test` and `make demo` bootstrap .venv
# themselves, so a fresh machine needs only Python 3.11+ and a package registry.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-quick demo demo-check lint check bench install typecheck-tree catalogues soak

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Baliza and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@$(PY) -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(PY) -m pip install --quiet -e '.[dev]' >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(PY) -c "import baliza.protocol, baliza.crypto, baliza.node" && touch $@

install: $(STAMP)

# mypy cannot see through the editable install's import hook, which maps
# baliza.protocol to ./protocol; a tree of symlinks gives it the same view and,
# unlike a strict editable install, never goes stale when a module is added.
typecheck-tree:
	@mkdir -p .typecheck/baliza
	@for d in protocol crypto node migrations; do ln -sfn ../../$$d .typecheck/baliza/$$d; done

lint: install typecheck-tree
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	MYPYPATH=.typecheck $(VENV)/bin/mypy --strict -p baliza.protocol -p baliza.crypto -p baliza.node
	MYPYPATH=.typecheck:tests $(VENV)/bin/mypy --strict tests bench

test: install
	$(PY) -m pytest -q -rs -p no:cacheprovider

# The pure layers (tests/protocol, tests/crypto) and the node tests that start
# no node, database or child process (tests/conftest.py marks them `quick`).
test-quick: install
	$(PY) -m pytest -q -rs -p no:cacheprovider -m quick tests/protocol tests/crypto tests/node

check: lint test

demo: install
	$(VENV)/bin/baliza demo

demo-check: install
	$(VENV)/bin/baliza demo --check

bench: install
	$(PY) bench/bench_crypto.py
	$(PY) bench/bench_node.py
	$(PY) bench/bench_flood.py

# The console's translations: extract the source strings, merge them into each
# language's .po (translate what is new there), compile the .mo files the node loads.
catalogues: install
	$(VENV)/bin/pybabel extract -F node/console/babel.cfg -k N_ -k NP_:1c,2 --no-location --omit-header \
		-o node/console/locale/console.pot node/console
	$(VENV)/bin/pybabel update -D console -i node/console/locale/console.pot -d node/console/locale \
		--width 100 --ignore-obsolete
	$(VENV)/bin/pybabel compile -D console -d node/console/locale

# The fault suite (tests/fault) runs in `make test` in a bounded form; the soak
# runs it with larger counts under several seeds (random ones unless
# BALIZA_FAULT_SEEDS names them) and stops at the first failing seed.
SOAK_ENV := BALIZA_FAULT_NOTICES=$${BALIZA_FAULT_NOTICES:-5000} \
	BALIZA_FAULT_KILLS=$${BALIZA_FAULT_KILLS:-4} \
	BALIZA_FAULT_NETWORK_NOTICES=$${BALIZA_FAULT_NETWORK_NOTICES:-1000} \
	BALIZA_FAULT_PARTITION_NOTICES=$${BALIZA_FAULT_PARTITION_NOTICES:-150} \
	BALIZA_FAULT_PARTITIONS=$${BALIZA_FAULT_PARTITIONS:-6} \
	BALIZA_FAULT_VERBOSE=1

soak: install
	@seeds="$${BALIZA_FAULT_SEEDS:-$$($(PY) -c 'import random; print(*random.sample(range(1, 2**31), 3))')}"; \
	for seed in $$seeds; do \
		echo "== soak: BALIZA_FAULT_SEED=$$seed"; \
		BALIZA_FAULT_SEED=$$seed $(SOAK_ENV) $(PY) -m pytest -q -rs -p no:cacheprovider tests/fault \
			|| { echo "soak failed with BALIZA_FAULT_SEED=$$seed"; exit 1; }; \
	done
