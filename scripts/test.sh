#!/usr/bin/env bash
# m2's test command: installs test dependencies, then runs formatting,
# lint and the whole test suite.
#
#   scripts/test.sh                      # everything
#   scripts/test.sh -E 'test(node)'      # extra arguments go to cargo nextest run
#
# Environment:
#   M2_TEST_SKIP_DEPS=1   do not run scripts/install-test-deps.sh
#   M2_TEST_SKIP_LINT=1   skip cargo fmt --check and cargo clippy
#   M2_TEST_VENV, M2_TEST_POSTGRES_URL, M2_TEST_MYSQL_URL
#                         override the defaults below (the Rust tests read them)
#
# Every step runs even when an earlier one fails; the exit status is non-zero
# if any step failed, and the last line summarises all of them.
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT" || exit 1

log() { printf '\n==> %s\n' "$*" >&2; }

start=$SECONDS
failed=0
declare -A status=()

run_step() { # name, command...
    local name=$1; shift
    log "$name: $*"
    if "$@"; then
        status[$name]=ok
    else
        status[$name]="FAILED($?)"
        failed=1
    fi
}

if [[ -z ${M2_TEST_SKIP_DEPS:-} ]]; then
    log "install-test-deps"
    if ! "$REPO_ROOT/scripts/install-test-deps.sh"; then
        echo "test.sh: installing test dependencies failed; not running the tests" >&2
        exit 1
    fi
fi

export M2_TEST_VENV="${M2_TEST_VENV:-$REPO_ROOT/.venv}"
export M2_TEST_POSTGRES_URL="${M2_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export M2_TEST_MYSQL_URL="${M2_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-$([[ -t 2 ]] && echo auto || echo never)}"
# In CI use the nextest profile named "ci" when the repository defines one.
if [[ -n ${CI:-} && -z ${NEXTEST_PROFILE:-} ]] && grep -qs '^\[profile\.ci\]' .config/nextest.toml; then
    export NEXTEST_PROFILE=ci
fi

echo "M2_TEST_VENV=$M2_TEST_VENV" >&2
echo "M2_TEST_POSTGRES_URL=$M2_TEST_POSTGRES_URL" >&2
echo "M2_TEST_MYSQL_URL=$M2_TEST_MYSQL_URL" >&2

# A committed Cargo.lock must be up to date.
locked=()
[[ -f Cargo.lock ]] && locked=(--locked)

if [[ -z ${M2_TEST_SKIP_LINT:-} ]]; then
    run_step fmt cargo fmt --all --check
    run_step clippy cargo clippy "${locked[@]}" --all-targets -- -D warnings
else
    status[fmt]=skipped
    status[clippy]=skipped
fi

# Keep nextest's output to pick the counts out of its summary line.
nextest_log=$(mktemp)
trap 'rm -f "$nextest_log"' EXIT
log "nextest: cargo nextest run --no-fail-fast $*"
cargo nextest run "${locked[@]}" --no-fail-fast "$@" 2> >(tee "$nextest_log" >&2)
rc=$?
wait # for tee
if [[ $rc -eq 0 ]]; then
    status[nextest]=ok
else
    status[nextest]="FAILED($rc)"
    failed=1
fi

# nextest ends with e.g. "Summary [ 1.2s] 40 tests run: 38 passed, 1 failed, 1 skipped"
counts=$(grep -E '^ *Summary \[' "$nextest_log" | tail -n1 | sed -E 's/.*tests? run: //')
[[ -n $counts ]] || counts="no test summary"

verdict=PASS
[[ $failed -eq 0 ]] || verdict=FAIL
echo "test.sh: $verdict in $((SECONDS - start))s — fmt ${status[fmt]}, clippy ${status[clippy]}, nextest ${status[nextest]} ($counts)"
exit "$failed"
