#!/usr/bin/env bash
# `make demo`: a whole release rehearsed on the local emulator, from a clean local state.
#   1. train and register two versions of the heart classifier; validate the specs;
#   2. set up the endpoint the way the Azure article does: blue serves version 1 with all traffic;
#   3. release version 2 (the pin in deployments/release.yml) into green: deploy at 0%, run the
#      acceptance suite, walk every traffic stage with canary analysis, retire blue.
# Bake times are shortened and probe load is added so the demo takes a couple of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/.venv/bin:$PATH"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Reset the local state (.rollout/)"
rollout emulator stop >/dev/null 2>&1 || true
rm -rf .rollout

step "Train and register two model versions"
rollout model train
rollout model train --variant 2

step "Validate the specs"
rollout validate

step "Start the local emulator"
rollout emulator start

step "Blue serves version 1 with all traffic (az ml online-endpoint/deployment create)"
rollout endpoint create -f endpoints/heart-classifier.yml
rollout deployment create -f deployments/blue.yml --all-traffic
rollout invoke --request-file samples/sample.json

step "Release version 2 through every stage"
rollout release --yes --bake "${DEMO_BAKE:-6s}" --probe-rps "${DEMO_PROBE_RPS:-50}"

step "The release's report (also: rollout report --format html --output release.html)"
rollout report

step "Done. The emulator keeps running: try 'rollout status', 'rollout emulator stop' to stop it"
