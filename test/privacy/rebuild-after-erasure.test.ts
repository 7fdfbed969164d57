/**
 * A rebuild of the read models after an erasure (`npm run rebuild`, the operator's CLI, on the data
 * directory): the erased subscriber's orders still say "erased" and cannot be found by phone, while
 * everyone else's numbers come back masked and searchable. Replaying the erasures (`erasure`) destroys
 * again a key that a restored backup of the key store brought back.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { compose } from '../../app/service.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../http/logger.ts';
import { openSqliteKeyStore } from '../../stores/sqlite/key-store.ts';
import { caughtUp } from '../flow/support.ts';
import { startTestLedger } from '../support/ledger-app.ts';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { eraseAs, household, OTHER_PHONE, PHONE } from './support.ts';

it('`npm run rebuild -- orders subscribers erasure` after an erasure and a key store restored from backup: the key is destroyed again, "erased" stays, search by that phone finds nothing, the other subscriber is whole', {
  timeout: 120_000,
}, async () => {
  const t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
  try {
    const { paid, other } = await household(t);
    const keys = openSqliteKeyStore(join(t.dataDir, 'keys.db'));
    const destroyed = await keys.get('sub-1001');
    expect((await eraseAs(t, TOKENS.admin, 'sub-1001')).statusCode).toBe(200);
    await caughtUp(t);
    await t.service.close();
    // The key store is restored from a backup taken before the erasure: the destroyed key is back.
    if (!destroyed) throw new Error('expected a key for sub-1001');
    await keys.create(destroyed);
    await keys.close();

    const rebuild = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/rebuild.ts', 'orders', 'subscribers', 'erasure'], {
      env: { PATH: process.env.PATH ?? '', ...t.env, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 100_000,
    });
    expect(rebuild.status, rebuild.stderr).toBe(0);
    expect(rebuild.stdout).toMatch(/^rebuilt orders v2, subscribers v2, erasure v2: \d+ events/m);
    // Replaying the erasures destroyed the restored key again.
    const after = openSqliteKeyStore(join(t.dataDir, 'keys.db'));
    expect(await after.get('sub-1001')).toBeNull();
    expect(await after.get('sub-2002')).not.toBeNull();
    await after.close();

    // The same data directory, served again.
    const service = await compose(loadConfig(t.env), createLogger('silent'), () => t.clock.now);
    try {
      service.start();
      const head = await service.ledger.store.headPosition();
      for (const p of service.projections.values()) await p.waitFor(head);
      const get = async (url: string) => (await service.app.inject({ method: 'GET', url, headers: bearer(TOKENS.service) })).json<Record<string, unknown>>();
      const order = await get(`/v1/orders/${paid.orderId}`);
      expect(order).toMatchObject({ msisdn: 'erased', status: 'provisioned', amount: { value: 3800, currency: 'CNY' } });
      expect(order).not.toHaveProperty('msisdnKey');
      expect(await get(`/v1/orders?msisdn=${PHONE}`)).toEqual({ items: [], nextCursor: null });
      expect(await get(`/v1/orders/${other.orderId}`)).toMatchObject({ msisdn: '139****9000' });
      expect((await get(`/v1/orders?msisdn=${OTHER_PHONE}`)).items).toHaveLength(1);
      expect(await service.reads.get('subscribers', 'sub-1001')).toMatchObject({ status: 'erased', orders: 2 });
      expect(await service.reads.get('subscribers', 'sub-2002')).toMatchObject({ status: 'active', orders: 1 });
    } finally {
      await service.close();
    }
  } finally {
    rmSync(t.dataDir, { recursive: true, force: true });
  }
});
