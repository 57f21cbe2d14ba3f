#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds with warnings as errors, runs `meson test`,
# then prints "N passed, N failed" read from meson's JSON test log. Exit status: 0 when nothing
# failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1
bash scripts/build.sh -Dwerror=true || exit 1
meson test -C build --print-errorlogs --num-processes "$(nproc)" "$@"
status=$?
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as log:
    for line in log:
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
