# cynode tasks. `python3 build.py test` bootstraps .venv and runs `just ci`.
set shell := ["bash", "-euo", "pipefail", "-c"]

bin := justfile_directory() / ".venv/bin"
packages := "cli server store dispatch inference"
# test processes (pytest-xdist): the suites wait on servers and jobs far more than they compute
workers := "4"
# the PostgreSQL BDD run: every server holds up to ~15 connections and PostgreSQL allows 100 by default; with 4
# processes (and other runs on the same PostgreSQL server) CI hit "too many clients"
pg_workers := "3"

# everything CI checks: lint, feature files, tests with coverage (BDD on SQLite), the zipapp, and then at once (they
# mostly wait on servers) schemathesis, the @pyz scenarios against the zipapp and the BDD suites on PostgreSQL
ci: lint features cover build servers

# `api`, `bdd-pyz` and `bdd-pg` side by side, each with its own log, printed when it ends; fails if any fails
servers:
    #!/usr/bin/env bash
    set -uo pipefail
    logs=$(mktemp -d)
    {{bin}}/just api > "$logs/api" 2>&1 & api=$!
    {{bin}}/just bdd-pyz > "$logs/bdd-pyz" 2>&1 & pyz=$!
    {{bin}}/just bdd-pg > "$logs/bdd-pg" 2>&1 & pg=$!
    rc=0
    for job in api:$api bdd-pyz:$pyz bdd-pg:$pg; do
      wait "${job#*:}"; job_rc=$?
      echo "--- ${job%%:*} (exit $job_rc)"; cat "$logs/${job%%:*}"
      rc=$(( rc || job_rc ))
    done
    rm -rf "$logs"
    exit $rc

# pylint over code, tests, benchmarks and build scripts
lint:
    {{bin}}/pylint cynode tests bench build.py setup.py

# every feature file: one @suite_* tag, and @req_*/@spec_* tags on every scenario
features:
    {{bin}}/python tests/check_features.py features

# unit, store-contract and BDD tests (BDD against a real `cynode serve` from the source tree)
test *ARGS:
    {{bin}}/pytest {{ARGS}}

# the tests under coverage (server and CLI subprocesses included); fails under 90% for any package
cover:
    rm -f .coverage .coverage.*
    {{bin}}/coverage run -m pytest -q -n {{workers}}
    {{bin}}/coverage combine -q
    {{bin}}/coverage report
    for pkg in {{packages}}; do \
      printf '%-10s ' "$pkg"; {{bin}}/coverage report --include="cynode/$pkg/*" --fail-under=90 --format=total; \
    done
    printf '%-10s ' "top-level"; {{bin}}/coverage report --include="cynode/*.py" --fail-under=90 --format=total

# schemathesis against a live server with its own OpenAPI document: no 5xx, no response breaking the document
api:
    {{bin}}/python -m tests.api_fuzz

# BDD suites only
bdd *ARGS:
    {{bin}}/pytest tests/bdd {{ARGS}}

# the BDD suites with every server on a private PostgreSQL database (CYNODE_TEST_PG_URL, default
# postgresql://root@127.0.0.1:5432/test); fails when PostgreSQL cannot be reached
bdd-pg *ARGS:
    CYNODE_TEST_BACKEND=postgresql {{bin}}/pytest -q -n {{pg_workers}} tests/bdd {{ARGS}}

# build ./cynode.pyz
build:
    {{bin}}/python build.py

# the packaged product end to end: the journey and the @pyz scenarios (auth, tasks, chat, shell, completion) again,
# with the CLI and server run from the built zipapp (`-m suite_cynork` runs every cynork scenario that way)
bdd-pyz:
    CYNODE_TEST_PYZ={{justfile_directory()}}/cynode.pyz {{bin}}/pytest -q -n {{workers}} tests/bdd -m pyz

# build and start the server (SQLite in the default data dir)
serve *ARGS: build
    ./cynode.pyz serve {{ARGS}}

# benchmarks, printed as ratios against floors measured in the same run
bench: build
    {{bin}}/python -m bench.cli_start
    {{bin}}/python -m bench.tasks
    {{bin}}/python -m bench.chat
