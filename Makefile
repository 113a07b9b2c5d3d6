# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo install test lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/d2a demo

# `d2a` on the PATH, as pipx would put it: a link in ~/.local/bin (PREFIX=/usr/local for all).
PREFIX ?= $(HOME)/.local
install: $(STAMP)
	mkdir -p $(PREFIX)/bin
	ln -sf $(CURDIR)/$(BIN)/d2a $(PREFIX)/bin/d2a
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) echo "d2a is installed: type d2a";; \
		*) echo "d2a is in $(PREFIX)/bin, which is not on your PATH: add it, or run $(PREFIX)/bin/d2a";; esac

# The browser test drives Debian's Chromium (Playwright's own browser download is not used). A
# fresh CI machine runs as root and gets it here once; where it is installed this does nothing.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium is missing and this is not root: the browser test will skip (apt-get install chromium)"; \
	fi

# The real-terminal typing tests drive `d2a board` in tmux; installed the same way.
TMUX := /usr/bin/tmux
$(TMUX):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null; \
	else \
		echo "tmux is missing and this is not root: the real-terminal tests will skip (apt-get install tmux)"; \
	fi

test: $(STAMP) $(CHROMIUM) $(TMUX) docs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q

# The same checks as .pre-commit-config.yaml's hooks (`pre-commit install` runs them on commit).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The manual, built as CI builds it: every warning (a broken link or anchor, a page left out of
# the nav) fails. Offline: Material's web fonts are off and no plugin fetches anything. Into site/
# (ignored by git); NO_MKDOCS_2_WARNING silences Material's notice about its successor.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

BENCH_DIR := /tmp/d2a-bench
PG := postgresql://postgres@127.0.0.1:5432

# Figures for docs/design/performance.md, not tests: a region year takes minutes to seed per backend, the
# national day (bench/national.py) much longer. bench/startup.py drives a real terminal: tmux.
bench: $(STAMP)
	@command -v tmux >/dev/null || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null)
	$(BIN)/python bench/seed_and_query.py --keep $(BENCH_DIR)
	$(BIN)/python bench/board.py --locality sqlite:///$(BENCH_DIR)/d2a_bench_locality_365d.db \
		--region sqlite:///$(BENCH_DIR)/d2a_bench_region_365d.db
	$(BIN)/python bench/board.py --locality $(PG)/d2a_bench_locality_365d \
		--region $(PG)/d2a_bench_region_365d
	$(BIN)/python bench/startup.py \
		--case "sqlite locality=sqlite:///$(BENCH_DIR)/d2a_bench_locality_365d.db" \
		--case "sqlite region=sqlite:///$(BENCH_DIR)/d2a_bench_region_365d.db" \
		--case "postgresql locality=$(PG)/d2a_bench_locality_365d" \
		--case "postgresql region=$(PG)/d2a_bench_region_365d"
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/snapshot.py $(PG)/d2a_bench_region_365d
	$(BIN)/python bench/national.py
	$(BIN)/python bench/filter.py
	$(BIN)/python bench/import_sheet.py
	$(BIN)/python bench/adt.py
	$(BIN)/python bench/crash.py
	$(BIN)/python bench/fuzz_api.py --examples 500

clean:
	rm -rf $(VENV) .pytest_cache site
