#!/usr/bin/env bash
# Runs every test of the solution and ends with the plain line "N passed, N failed".
# Needs the .NET SDK and redis-server/redis-cli (the Redis tests start real servers); installs Redis with apt-get
# when it is missing and this runs as root. On Linux also strace (the fsync-order test of the file stores runs a worker
# under strace and never skips), installed the same way, and PostgreSQL (initdb/pg_ctl for the PostgreSQL store's tests).
set -uo pipefail
cd "$(dirname "$0")/.."

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }
filter=()
if ! have_redis; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing redis-server (the Redis tests start real Redis servers)..."
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq redis-server; } >/dev/null 2>&1 || echo "apt-get install redis-server failed"
  fi
  if ! have_redis; then
    if [ "$(uname -s)" != "Linux" ]; then
      # Windows and macOS runners may have no redis-server: run everything else, and say so.
      echo "No redis-server on $(uname -s): the tests of category RequiresRedisServer are NOT run here (they always run on Linux)."
      filter=(--filter "Category!=RequiresRedisServer")
    else
      echo "redis-server and redis-cli are required: the Redis tests start real Redis servers and never skip."
      echo "Install them (Debian/Ubuntu: 'sudo apt-get install redis-server'; or Redis 7 from https://redis.io/download) and run again."
      echo "0 passed, 1 failed"
      exit 1
    fi
  fi
fi

if [ "$(uname -s)" = "Linux" ] && [ ! -x /usr/bin/strace ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing strace (the file stores' fsync-order test traces a worker process)..."
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq strace; } >/dev/null 2>&1 || echo "apt-get install strace failed"
  fi
  if [ ! -x /usr/bin/strace ]; then
    echo "/usr/bin/strace is required on Linux: the fsync-order test runs a worker under strace and never skips."
    echo "Install it (Debian/Ubuntu: 'sudo apt-get install strace') and run again."
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

# The PostgreSQL tests run initdb and pg_ctl (found under /usr/lib/postgresql/*/bin, or on the PATH) and never skip.
have_postgres() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && return 0
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}
if [ "$(uname -s)" = "Linux" ] && ! have_postgres; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing postgresql (the PostgreSQL store's tests start a real server with initdb and pg_ctl)..."
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq postgresql; } >/dev/null 2>&1 || echo "apt-get install postgresql failed"
  fi
  if ! have_postgres; then
    echo "initdb and pg_ctl are required on Linux: the PostgreSQL store's tests start a real server and never skip."
    echo "Install them (Debian/Ubuntu: 'sudo apt-get install postgresql') and run again."
    echo "0 passed, 1 failed"
    exit 1
  fi
elif [ "$(uname -s)" != "Linux" ] && ! have_postgres; then
  echo "No initdb/pg_ctl on $(uname -s): the tests of category RequiresPostgresServer are NOT run here (they always run on Linux)."
  if [ ${#filter[@]} -eq 0 ]; then
    filter=(--filter "Category!=RequiresPostgresServer")
  else
    filter=(--filter "Category!=RequiresRedisServer&Category!=RequiresPostgresServer")
  fi
fi

results="$(pwd)/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build Persistence.Libraries.sln -c Release --nologo -v minimal
build=$?
if [ $build -ne 0 ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# Each test project writes <project>.trx (tests/Directory.Build.props sets the logger).
dotnet test Persistence.Libraries.sln -c Release --no-build --nologo --results-directory "$results" ${filter[@]+"${filter[@]}"}
status=$?

passed=0
failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done

if [ $status -ne 0 ] && [ $failed -eq 0 ]; then
  # The runner failed without a failed test (a crash or a timeout): count it as a failure.
  failed=1
fi

echo "${passed} passed, ${failed} failed"
[ $status -eq 0 ] && [ $failed -eq 0 ]
