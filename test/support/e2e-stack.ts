/**
 * What an end-to-end test file runs against: the three simulators and the service as real processes,
 * on a fresh data dir and a port of its own. Started before the file's tests, killed after them (also
 * when one failed), the data dir removed.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { ledgerApi } from '../e2e/http.ts';
import { freePort, killAll, mapLimit, tempDir } from '../e2e/processes.ts';
import { startService, type RunningService, type ServiceOptions } from '../e2e/service.ts';
import { freshOrderBody, waitForCode, waitForStatus } from '../e2e/scenarios.ts';
import { simApi, startSimulators, type SimApi } from '../e2e/simulators.ts';

export type Confirmed = { orderId: string; paymentId: string; smartcardId: string };

export type E2eStack = {
  /** The simulators' inspection API. */
  readonly sim: SimApi;
  /** The service now running (a new one after `restart`). */
  readonly service: RunningService;
  /** The ledger's API at whichever service is running. */
  readonly api: ReturnType<typeof ledgerApi>;
  readonly dataDir: string;
  /** How the service was started: the same data dir, port, simulators and env every time. */
  readonly options: ServiceOptions;
  /** Starts the service again on the same data dir and port (after it was killed or stopped). */
  restart(): Promise<RunningService>;
  /** An order for a fresh subscriber (Idempotency-Key `${keyPrefix}-${subscriberId}`), confirmed with the code sent to the phone. */
  placeAndConfirm(keyPrefix: string): Promise<Confirmed>;
  /** A history to start from: `count` such orders, each provisioned. */
  provisionedOrders(count: number, keyPrefix: string): Promise<Confirmed[]>;
};

/** Registers the file's beforeAll and afterAll; the stack's fields are there inside its tests. */
export const e2eStack = (env: Record<string, string> = {}): E2eStack => {
  let started: { sim: SimApi; options: ServiceOptions; remove(): void } | undefined;
  let service: RunningService | undefined;
  const ready = () => {
    if (!started) throw new Error('the e2e stack is started in beforeAll: use it inside a test');
    return started;
  };

  beforeAll(async () => {
    const data = tempDir();
    const sims = await startSimulators();
    started = { sim: simApi(sims.urls), options: { dataDir: data.path, port: await freePort(), sims: sims.urls, env }, remove: data.remove };
    service = await startService(started.options);
  });

  afterAll(async () => {
    await killAll();
    started?.remove();
  });

  const stack: E2eStack = {
    get sim() {
      return ready().sim;
    },
    get service() {
      if (!service) throw new Error('the service did not start');
      return service;
    },
    api: ledgerApi(() => stack.service.url),
    get dataDir() {
      return ready().options.dataDir;
    },
    get options() {
      return ready().options;
    },
    restart: async () => {
      service = await startService(ready().options);
      return service;
    },
    placeAndConfirm: async (keyPrefix) => {
      const body = freshOrderBody();
      const placed = await stack.api.placeOrder(body, `${keyPrefix}-${body.subscriberId}`);
      expect(placed.status).toBe(201);
      const confirmed = await stack.api.confirm(placed.body.paymentId, await waitForCode(stack.sim, body.msisdn));
      expect(confirmed.status).toBe(200);
      return { orderId: placed.body.orderId, paymentId: placed.body.paymentId, smartcardId: body.smartcardId };
    },
    provisionedOrders: async (count, keyPrefix) => {
      const orders = await mapLimit(Array.from({ length: count }), 8, () => stack.placeAndConfirm(keyPrefix));
      for (const o of orders) await waitForStatus(stack.api, o.orderId, 'provisioned', 60_000);
      return orders;
    },
  };
  return stack;
};
