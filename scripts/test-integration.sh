#!/usr/bin/env bash
# `npm run test:integration`: the contract suites and the end-to-end flow against real
# EventStoreDB and MongoDB servers (`docker compose up -d eventstore mongodb` starts both).
set -euo pipefail
: "${EVENTSTORE_URL:?set EVENTSTORE_URL, e.g. esdb://127.0.0.1:2113?tls=false (docker compose up -d eventstore mongodb)}"
: "${MONGODB_URL:?set MONGODB_URL, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true}"
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
# The real-server contract cases run only when the URLs are set; the end-to-end suite
# starts the service on them (TVPAY_E2E_STORES=real).
TVPAY_E2E_STORES=real npx vitest run test/event-store.esdb.test.ts test/read-store.mongodb.test.ts test/e2e
