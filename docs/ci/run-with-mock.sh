#!/bin/sh
# Run a command (your tests) against mock_api, in any CI: start the mock in the background, wait for
# its ready line (with a deadline), export MOCK_API_URL and MOCK_API_KEY, run the command, save the
# journal, violations and coverage, stop the mock. POSIX sh; needs only Python with mock_api installed.
#
#   sh ci/run-with-mock.sh python -m pytest tests
#
# Exit status: the command's if it failed; else 1 if strict mode recorded a contract violation; else 0.
# Settings (environment):
#   MOCK_API_PYTHON     the Python that has mock_api installed (default: python3)
#   MOCK_API_OPTIONS    serve options (default: --strict); MOCK_API_<OPTION> variables work too
#   MOCK_API_ARTIFACTS  where the evidence goes (default: mock_api-artifacts)
#   MOCK_API_DEADLINE   seconds to wait for the ready line (default: 60)
#   MOCK_API_KEY        the dev key the tests use (default: dev-readwrite; not a real credential)
set -u
python=${MOCK_API_PYTHON:-python3}
artifacts=${MOCK_API_ARTIFACTS:-mock_api-artifacts}
deadline=${MOCK_API_DEADLINE:-60}
MOCK_API_KEY=${MOCK_API_KEY:-dev-readwrite}
export MOCK_API_KEY
mkdir -p "$artifacts" && : >"$artifacts/server.out" || exit 2

# shellcheck disable=SC2086  # the options are words on purpose
"$python" -m mock_api serve --port 0 --log-format json ${MOCK_API_OPTIONS:---strict} \
    >"$artifacts/server.out" 2>"$artifacts/server.log" &
server=$!
stop() {
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
}

waited=0
while ! grep -q '^mock_api listening on ' "$artifacts/server.out"; do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "run-with-mock: mock_api exited before its ready line; its log:" >&2
        cat "$artifacts/server.log" >&2
        exit 2
    fi
    if [ "$waited" -ge "$deadline" ]; then
        echo "run-with-mock: mock_api did not start within ${deadline} s; its log:" >&2
        cat "$artifacts/server.log" >&2
        stop
        exit 2
    fi
    sleep 1
    waited=$((waited + 1))
done
MOCK_API_URL=$(sed -n 's/^mock_api listening on //p' "$artifacts/server.out")
export MOCK_API_URL
echo "run-with-mock: mock_api at $MOCK_API_URL; evidence in $artifacts/" >&2

"$@"
tests=$?

# The evidence, whatever the tests did: what the mock saw, strict mode's findings, what was exercised, and
# its whole state (`mock-api show` prints it; `mock-api serve --snapshot` starts a local mock from it).
"$python" - "$MOCK_API_URL" "$artifacts" <<'PY'
import sys, urllib.request
url, folder = sys.argv[1], sys.argv[2]
for name, path in (("journal", "requests"), ("violations", "violations"), ("coverage", "coverage"),
                   ("snapshot", "snapshot")):
    with urllib.request.urlopen(f"{url}/_mock/{path}", timeout=30) as answer, \
            open(f"{folder}/{name}.json", "wb") as saved:
        saved.write(answer.read())
PY
collected=$?
stop
[ "$tests" -ne 0 ] && exit "$tests"
[ "$collected" -ne 0 ] && exit 2
"$python" -m mock_api violations "$artifacts/violations.json"
