#!/usr/bin/env bash
# Runs the README's test command several times in a row, in a fresh clone, while CPU burners
# keep the machine busy: the suite must pass every time, not only on an idle machine.
#
#   bash scripts/stress_suite.sh            # 3 runs beside 2 burners
#   RUNS=5 BURNERS=4 bash scripts/stress_suite.sh
#   KEEP=1 bash scripts/stress_suite.sh     # keep the clone and its virtualenv afterwards
#
# What is tested is the committed state of this checkout's branch (uncommitted changes are not
# in a clone). Redis comes from REDIS_URL, else a redis-server started here as .ci/run starts
# it; without either the script stops, since the suite would not be complete. The environment
# is otherwise the developer's (no CI=true), as for anyone typing the README command. Prints
# one line per run (counts, pytest's summary line, wall time) and exits non-zero if any run
# failed; the full output of each run stays in the work directory it names.
set -euo pipefail

runs="${RUNS:-3}"
burners="${BURNERS:-2}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/stress_suite.XXXXXX")"
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    # The logs stay; the clone and its virtualenv go unless KEEP=1.
    [ -n "${KEEP:-}" ] || rm -rf "$work/clone" "$work/venv"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

branch="$(git -C "$repo" symbolic-ref -q --short HEAD || true)"
git clone --quiet ${branch:+--branch "$branch"} "$repo" "$work/clone"
commit="$(git -C "$work/clone" rev-parse --short HEAD)"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
    echo "note: $repo has uncommitted changes; they are not tested" >&2
fi

if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
    echo "stress_suite: needs redis-server on the PATH (apt install redis-server) or REDIS_URL" >&2
    exit 2
fi
if [ -z "${REDIS_URL:-}" ]; then
    redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize yes --pidfile "$work/redis.pid" --logfile /dev/null
    for _ in $(seq 50); do [ -s "$work/redis.pid" ] && break; sleep 0.1; done
    pids+=("$(cat "$work/redis.pid")")
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    export REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi

python3 -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
# Installed once before the burners start, so each run's wall time is mostly the suite's.
(python -m pip install --upgrade pip && cd "$work/clone" && pip install ".[test]") \
    >"$work/install.log" 2>&1 || { echo "pip install failed: see $work/install.log" >&2; exit 1; }

for _ in $(seq "$burners"); do
    python3 -c 'while True: pass' &
    pids+=("$!")
done

echo "stress_suite: $runs runs of the README test command at $commit in $work/clone," \
    "beside $burners CPU burners; nproc $(nproc); REDIS_URL=${REDIS_URL:-unset}"
failed=0
cd "$work/clone"
for run in $(seq "$runs"); do
    log="$work/run-$run.log"
    started=$(date +%s.%N)
    status=0
    # The README's Quickstart command, word for word.
    bash -c 'pip install ".[test]" && pytest' >"$log" 2>&1 || status=$?
    wall=$(python3 -c "print(f'{$(date +%s.%N) - $started:.0f}')")
    summary="$(grep -E '(passed|failed|error|skipped).* in [0-9.]+s' "$log" | tail -1 \
        | sed -E 's/^=+ //; s/ =+$//' || true)"
    count() { grep -oE "[0-9]+ $1" <<<"$summary" | grep -oE '^[0-9]+' || echo 0; }
    echo "run $run: $(count passed) passed, $(count failed) failed, $(count error) errors," \
        "$(count skipped) skipped; pytest: ${summary:-no summary line}; wall ${wall} s" \
        "(pip install + pytest); exit $status"
    [ "$status" -eq 0 ] || failed=1
done
echo "logs: $work"
exit "$failed"
