#!/usr/bin/env bash
# Makes tests/recordings/emulator-release: a small release recorded against the local emulator
# (`rollout --record`): endpoint create, a deployment given all traffic, a scoring request, a
# metrics snapshot, delete. `make test` replays it (tests/cli/test_recording.py). The endpoint is
# named recording-sample, which no other test uses. ROLLOUT_HOME: a fresh temporary one unless set.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/.venv/bin:$PATH"
export ROLLOUT_HOME="${ROLLOUT_HOME:-$(mktemp -d)}"
OUT="$PWD/tests/recordings/emulator-release"
SPECS="$(mktemp -d)"
sed 's/^name: heart-classifier/name: recording-sample/' endpoints/heart-classifier.yml > "$SPECS/endpoint.yml"
sed 's/^endpoint_name: heart-classifier/endpoint_name: recording-sample/' deployments/blue.yml > "$SPECS/blue.yml"

rollout model train >/dev/null
rollout emulator start >/dev/null
rm -rf "$OUT"
rollout --record "$OUT" endpoint create -f "$SPECS/endpoint.yml"
rollout --record "$OUT" deployment create -f "$SPECS/blue.yml" --all-traffic
rollout --record "$OUT" endpoint invoke -n recording-sample --request-file samples/sample.json
ROLLOUT_RECORD="$OUT" python -c "
from rollout.azureml.connection import Connection
from rollout.azureml.local_target import LocalTarget
print(Connection(LocalTarget()).metrics('recording-sample').snapshot('recording-sample'))"
rollout --record "$OUT" endpoint delete -n recording-sample --yes
rm -f "$OUT/.salt"  # keeps placeholders stable while recording; not part of a shared recording
rm -rf "$SPECS"
echo "recorded $(cat "$OUT"/*.jsonl | wc -l) exchanges in $OUT"
