/**
 * The composition root: builds the whole service from a Config. Nothing else
 * decides which adapters run; nothing else reads the environment.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LedgerDeps } from '../commands/deps.ts';
import { parseCatalog, type Catalog } from '../domain/catalog.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import type { EventStore } from '../stores/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import type { FastifyInstance } from 'fastify';

export type Service = {
  app: FastifyInstance;
  ledger: LedgerDeps;
  /** Stops taking requests, finishes in-flight work, commits checkpoints, closes stores. */
  close(): Promise<void>;
};

export const loadCatalog = (file: string): Catalog => {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`catalog ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseCatalog(json);
};

/** Outside production the code secret is generated once per data dir and kept there (mode 0600). */
const codeSecretFor = (config: Config): string => {
  if (config.codeSecret) return config.codeSecret;
  const file = join(config.dataDir, 'code-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  return readFileSync(file, 'utf8').trim();
};

const openEventStore = async (config: Config): Promise<EventStore> =>
  config.eventstoreUrl ? openEsdbEventStore(config.eventstoreUrl) : openSqliteEventStore(join(config.dataDir, 'events.db'));

export const compose = async (config: Config, logger: Logger, now: () => Date = () => new Date()): Promise<Service> => {
  mkdirSync(config.dataDir, { recursive: true });
  const catalog = loadCatalog(config.catalogFile);
  const store = await openEventStore(config);
  const ledger: LedgerDeps = {
    store,
    now,
    catalog,
    codeSecret: codeSecretFor(config),
    orderTtlSeconds: config.orderTtlSeconds,
    codeTtlSeconds: config.codeTtlSeconds,
  };
  const app = await buildApp({
    ledger,
    tokens: config.tokens,
    platformSecrets: config.paymentPlatformSecrets,
    logger,
    health: { ready: async () => ({ ready: true, checks: { eventStore: 'ok' } }) },
  });
  return {
    app,
    ledger,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
};
