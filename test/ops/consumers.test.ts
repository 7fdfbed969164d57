/**
 * CONSUMERS: which consumers a process runs. What an operator checks: only the named ones start,
 * /readyz and the lag gauge tell which run here, a wrong name stops the start, and a process that
 * runs none still serves while another runs them on the same data directory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { consumersHere } from '../../app/consumers.ts';
import { compose } from '../../app/service.ts';
import { ConfigError, loadConfig } from '../../app/config.ts';
import { createLogger } from '../../http/logger.ts';
import { orderInStatus } from '../flow/support.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { tempDir } from '../e2e/processes.ts';

/** The split README recommends: every read model in the API process, what acts in the worker process. */
const READ_MODELS = 'orders,entitlements,outbound,finance,journal,subscribers,erasure';
const ACTING = 'process,worker,seal,retention';

const open: TestLedger[] = [];
afterEach(async () => {
  // The later one first: both may share a data directory, which the first one's close removes.
  for (const t of open.splice(0).reverse()) await t.close();
});
const ledger = async (env: Record<string, string>): Promise<TestLedger> => {
  const t = await startTestLedger(env, { process: true });
  open.push(t);
  return t;
};
const readyz = async (t: TestLedger) => {
  const r = await t.app.inject({ method: 'GET', url: '/readyz' });
  return { status: r.statusCode, checks: r.json<{ checks: Record<string, string> }>().checks };
};
const lagSeries = async (t: TestLedger): Promise<string[]> => {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  return [...text.matchAll(/^tvpay_projection_lag_seconds\{projection="([a-z-]+)"\}/gm)].map((m) => m[1] ?? '').sort();
};

describe('consumersHere', () => {
  const projections = ['orders', 'outbound', 'process'];

  it('all: every projection, reactor and background task', () => {
    const here = consumersHere('all', projections);
    expect(['orders', 'process', 'worker', 'seal', 'retention'].every(here)).toBe(true);
  });

  it('a list: those and no others; none: nothing', () => {
    const here = consumersHere(['orders', 'worker'], projections);
    expect(['orders', 'outbound', 'process', 'worker', 'seal', 'retention'].filter(here)).toEqual(['orders', 'worker']);
    expect(['orders', 'worker', 'seal'].some(consumersHere([], projections))).toBe(false);
  });

  it('a name that is neither a projection nor a background task is a configuration error that lists the known ones', () => {
    expect(() => consumersHere(['orders', 'ordres'], projections)).toThrow(ConfigError);
    expect(() => consumersHere(['ordres'], projections)).toThrow('CONSUMERS: unknown "ordres"; known: orders, outbound, process, worker, seal, retention');
  });
});

describe('a service with CONSUMERS', () => {
  it('starts only the named consumers; /readyz says "elsewhere" for the others and is ready; lag is exported for its own only', async () => {
    const t = await ledger({ CONSUMERS: 'orders,worker' });
    expect([...t.service.projections.keys()]).toEqual(['orders']);
    const { status, checks } = await readyz(t);
    expect(status).toBe(200);
    expect(checks).toMatchObject({ 'projection:orders': 'active', 'projection:journal': 'elsewhere', 'projection:process': 'elsewhere', taskWorker: 'active' });
    expect(await lagSeries(t)).toEqual(['orders']);
  });

  it('none: serves requests only; every consumer is elsewhere, it is ready, and it exports no lag', async () => {
    const t = await ledger({ CONSUMERS: 'none' });
    expect(t.service.projections.size).toBe(0);
    const { status, checks } = await readyz(t);
    expect(status).toBe(200);
    expect(Object.entries(checks).filter(([name]) => name.startsWith('projection:') || name === 'taskWorker')).toEqual(
      expect.arrayContaining([
        ['projection:orders', 'elsewhere'],
        ['taskWorker', 'elsewhere'],
      ]),
    );
    expect(Object.values(checks).filter((v) => v !== 'ok' && v !== 'elsewhere')).toEqual([]);
    expect(await lagSeries(t)).toEqual([]);
    expect((await t.placeOrder({}, 'none-1')).statusCode).toBe(201);
  });

  it('by default runs them all, and exports the lag of every read model', async () => {
    const t = await ledger({});
    expect([...t.service.projections.keys()].sort()).toEqual(['entitlements', 'erasure', 'finance', 'journal', 'orders', 'outbound', 'process', 'subscribers']);
    expect(Object.values((await readyz(t)).checks)).not.toContain('elsewhere');
    expect(await lagSeries(t)).toEqual(['entitlements', 'erasure', 'finance', 'journal', 'orders', 'outbound', 'process', 'subscribers']);
  });

  it('a name it does not know stops the start with a configuration error, before anything listens', async () => {
    const dir = tempDir();
    try {
      const config = loadConfig({ DATA_DIR: dir.path, LOG_LEVEL: 'silent', CONSUMERS: 'orders,workers' });
      await expect(compose(config, createLogger('silent'))).rejects.toThrow(/^CONSUMERS: unknown "workers"; known: orders, .*worker, seal, retention$/);
    } finally {
      dir.remove();
    }
  });

  it('split over two processes on one data directory: placed and confirmed at the one with the read models, provisioned by the other', async () => {
    const front = await ledger({ CONSUMERS: READ_MODELS });
    const back = await ledger({ DATA_DIR: front.dataDir, CONSUMERS: ACTING });
    const placed = await front.placeOrder({}, 'split-1');
    expect(placed.statusCode).toBe(201);
    const { orderId, paymentId } = placed.json<{ orderId: string; paymentId: string }>();
    expect((await front.confirm(paymentId, front.codeFor(paymentId))).statusCode).toBe(200);
    // The trade, the notification, BOSS: all in the other process; the order read model here follows the log.
    const done = await orderInStatus(front, orderId, 'provisioned');
    expect(done.boss).toMatchObject({ bossRef: expect.any(String) });
    expect((await readyz(front)).checks).toMatchObject({
      'projection:orders': 'active',
      'projection:outbound': 'active',
      'projection:process': 'elsewhere',
      taskWorker: 'elsewhere',
    });
    expect((await readyz(back)).checks).toMatchObject({
      'projection:orders': 'elsewhere',
      'projection:outbound': 'elsewhere',
      'projection:process': 'active',
      taskWorker: 'active',
    });
  });
});
