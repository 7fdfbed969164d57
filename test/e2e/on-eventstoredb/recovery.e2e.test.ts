// The same end-to-end scenarios with the service on EventStoreDB (EVENTSTORE_URL → the wire-level stand-in).
process.env.TVPAY_E2E_STORES ??= 'esdb-standin';
await import('../recovery.e2e.test.ts');
