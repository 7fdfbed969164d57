/**
 * A ledger app on a fresh SQLite store in a temp dir, with a clock the test moves,
 * known tokens and secrets, and helpers that speak the API as its callers do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type pino from 'pino';
import { deriveCode } from '../../commands/one-time-code.ts';
import { compose, type Service } from '../../app/service.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../http/logger.ts';
import { sign } from '../../integrations/signature.ts';
import type { RecordedEvent } from '../../stores/event-store.ts';
import { API_TOKENS, bearer, CODE_SECRET, orderBody, PLATFORM_SECRET, TOKENS, type OrderBody } from './fixtures.ts';

export type TestLedger = {
  app: FastifyInstance;
  service: Service;
  /** Where it listens, with the whole process running (`process: true`). */
  url: string | undefined;
  dataDir: string;
  clock: { now: Date; advance(seconds: number): void };
  env: Record<string, string>;
  close(): Promise<void>;
  /** Every event in the store, in global order. */
  allEvents(): Promise<RecordedEvent[]>;
  /** Any field may be replaced, also by a value the API must refuse. */
  placeOrder(body?: Partial<Record<keyof OrderBody, string>>, key?: string): Promise<LightMyRequestResponse>;
  codeFor(paymentId: string, seq?: number): string;
  confirm(paymentId: string, code: string): Promise<LightMyRequestResponse>;
  notify(body: Record<string, unknown>, opts?: { secret?: string; at?: number }): Promise<LightMyRequestResponse>;
};

export type TestLedgerOptions = {
  /** Where the app's pino logger writes (set LOG_LEVEL in extraEnv to see anything). */
  logDestination?: pino.DestinationStream;
  /** Start the projections, reactors and task worker (the whole process), not only the command API. */
  process?: boolean;
};

export const startTestLedger = async (extraEnv: Record<string, string> = {}, opts: TestLedgerOptions = {}): Promise<TestLedger> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tvpay-test-'));
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    API_TOKENS,
    PAYMENT_PLATFORM_SECRET: PLATFORM_SECRET,
    CODE_SECRET,
    LOG_LEVEL: 'silent',
    ...extraEnv,
  };
  const clock = {
    now: new Date('2026-11-25T08:00:00.000Z'),
    advance(seconds: number) {
      this.now = new Date(this.now.getTime() + seconds * 1000);
    },
  };
  const config = loadConfig(env);
  const service = await compose(config, createLogger(config.logLevel, opts.logDestination), () => clock.now);
  // The whole process listens on a port of its own: the in-process payment platform notifies it over HTTP.
  const url = opts.process ? await service.serve({ port: 0, host: '127.0.0.1' }) : undefined;
  const app = service.app;
  await app.ready();
  const t: TestLedger = {
    app,
    service,
    url,
    dataDir,
    clock,
    env,
    close: async () => {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
    allEvents: async () => service.ledger.store.readAll('start', 1_000_000),
    placeOrder: (body = {}, key = 'key-1') =>
      app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: { ...bearer(TOKENS.openPlatform), 'idempotency-key': key },
        payload: { ...orderBody(), ...body },
      }),
    codeFor: (paymentId, seq = 1) => deriveCode(CODE_SECRET, paymentId, seq),
    confirm: (paymentId, code) => app.inject({ method: 'POST', url: `/v1/payments/${paymentId}/confirm`, headers: bearer(TOKENS.phone), payload: { code } }),
    notify: (body, opts = {}) => {
      const raw = JSON.stringify(body);
      const at = opts.at ?? Math.floor(clock.now.getTime() / 1000);
      return app.inject({
        method: 'POST',
        url: '/v1/payment-notifications',
        headers: { 'content-type': 'application/json', 'x-platform-signature': sign(opts.secret ?? PLATFORM_SECRET, raw, at) },
        payload: raw,
      });
    },
  };
  return t;
};
