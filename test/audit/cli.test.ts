/**
 * npm run audit and npm run seal as an operator runs them: text and --json reports, and exit codes
 * that tell "found problems" (1) from "could not run" (64 usage, 69 unavailable, 78 configuration).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditScript } from '../../scripts/audit.ts';
import type { AuditReport } from '../../scripts/audit/audit-log.ts';
import { sealScript } from '../../scripts/seal.ts';
import { orderInStatus, placeAndConfirm } from '../flow/support.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { runChild, runInProcess } from '../support/run-script.ts';
import { sqliteTamper } from './tamper.ts';

let t: TestLedger;
let env: Record<string, string>;
beforeAll(async () => {
  t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
  const o = await placeAndConfirm(t, 'cli-1');
  await orderInStatus(t, o.orderId, 'provisioned');
  await t.service.close();
  env = { DATA_DIR: t.dataDir };
}, 60_000);
afterAll(() => rmSync(t.dataDir, { recursive: true, force: true }));

const audit = (args: string[] = [], e = env) => runInProcess(auditScript, args, e);
const seal = (args: string[] = [], e = env) => runInProcess(sealScript, args, e);

describe('npm run audit and npm run seal', () => {
  it('a clean log: exit 0; sealed, then verified; JSON for machines; no progress off a terminal', async () => {
    const clean = await audit();
    expect(clean).toMatchObject({ code: 0, stderr: '' });
    expect(clean.stdout).toContain('no findings: every seal holds, every event is one the deciders would record, every fen is accounted for');
    expect(clean.stdout).toContain('seals: none yet (npm run seal)');

    const sealed = await seal();
    expect(sealed.code).toBe(0);
    expect(sealed.stdout).toMatch(/^sealed events #1…#\d+ as seal #1 \(last \S+@\d+\)\nchain head: seal #1, events #1…#\d+, chain [0-9a-f]{64}\n$/);
    expect((await seal()).stdout).toMatch(/^nothing new to seal\nchain head: seal #1/);
    const head = JSON.parse((await seal(['--json'])).stdout) as { sealed: unknown[]; head: { sealNo: number; chain: string } };
    expect(head).toMatchObject({ sealed: [], head: { sealNo: 1, chain: expect.stringMatching(/^[0-9a-f]{64}$/) } });

    const verified = await audit(['--json']);
    expect(verified.code).toBe(0);
    const report = JSON.parse(verified.stdout) as AuditReport;
    expect(report.seals).toMatchObject({ seals: 1, verified: 1, unsealed: 0, newest: { sealNo: 1, chain: head.head.chain } });
    expect(report.findings).toEqual([]);
    expect(report.money).toEqual({ charged: 3800, refunded: 0, underReview: 0, net: 3800 });
  });

  it('a tampered log: exit 1, the first finding of each stream named; a seal that no longer matches: seal exits 1', async () => {
    const events = await import('../../stores/sqlite/event-store.ts').then(async ({ openSqliteEventStore }) => {
      const store = await openSqliteEventStore(join(t.dataDir, 'events.db'));
      try {
        return await store.readAll('start', 1000);
      } finally {
        await store.close();
      }
    });
    const paid = events.find((e) => e.type === 'PaymentSucceeded');
    if (!paid) throw new Error('no PaymentSucceeded');
    sqliteTamper(join(t.dataDir, 'events.db')).changeByte(paid.id);
    const r = await audit();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FINDING\(S\) in \d+ stream\(s\); the first of each stream:/);
    expect(r.stdout).toContain(`[seal event-changed] seal #1: ${paid.streamId}@${paid.revision} PaymentSucceeded`);
    expect(r.stdout).toMatch(/\(\+\d+ more in this stream\)/); // the decider's refusal of the changed amount, among them

    const lastSealed = events.filter((e) => e.type !== 'LedgerSealed').at(-1);
    if (!lastSealed) throw new Error('empty log');
    sqliteTamper(join(t.dataDir, 'events.db')).deleteEvent(lastSealed.id);
    const broken = await seal();
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^seal: seal #1 ends at \S+ \(\S+\), which is not in the log; run npm run audit\n$/);
  });

  it('could not run: no store (69), a bad environment (78), a bad option (64); --help touches nothing (as the shell sees it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tvpay-cli-'));
    try {
      const nowhere = join(dir, 'nowhere');
      for (const run of [audit, seal]) {
        const missing = await run([], { DATA_DIR: nowhere });
        expect(missing.code).toBe(69);
        expect(missing.stderr).toContain(`no event store at ${join(nowhere, 'events.db')}`);
        expect((await run([], { DATA_DIR: dir, EVENTSTORE_URL: 'http://not-esdb' })).code).toBe(78);
        expect((await run(['--verbose'], env)).code).toBe(64);
      }
      const help = await runChild('scripts/audit.ts', ['--help'], { DATA_DIR: nowhere });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('npm run audit -- [--json]');
      expect(help.stdout).toContain('Exit codes: 0 ok, 1 findings, 64 usage, 69 unavailable (could not run), 70 internal error, 78 configuration.');
      expect(existsSync(nowhere)).toBe(false);
      const sealHelp = await seal(['--help'], { DATA_DIR: nowhere });
      expect(sealHelp.code).toBe(0);
      expect(sealHelp.stdout).toContain('npm run seal -- [--json]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
