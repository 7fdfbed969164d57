/**
 * npm run trail: everything that happened to an order and why, as the causal tree, with the task
 * attempts and the partners' answers as recorded; by order, card or phone number; text and JSON.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trailScript } from '../scripts/trail.ts';
import type { Trail } from '../scripts/trail/collect.ts';
import { caughtUp, eventually, orderInStatus, placeAndConfirm } from './flow/support.ts';
import { startTestLedger, type TestLedger } from './support/ledger-app.ts';
import { runChild, runInProcess } from './support/run-script.ts';
import { trailNodes } from './support/trail.ts';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
});
afterEach(async () => t.close());

const trail = (args: string[]) => runInProcess(trailScript, args, { DATA_DIR: t.dataDir });

describe('npm run trail', () => {
  it('an order whose provisioning failed once: the causal tree, the BOSS attempts and answers, in text and JSON', async () => {
    t.service.integrations.simulated.boss?.setFaults({ failNext: 1 });
    const o = await placeAndConfirm(t, 'trail-1', { smartcardId: 'card-trail' });
    await orderInStatus(t, o.orderId, 'provisioned', { tickSeconds: 2 });
    await eventually(
      t,
      async () => ((await t.service.ledger.store.readStream(`task-boss:${o.orderId}:0`)).some((e) => e.type === 'TaskCompleted') ? true : undefined),
      'the BOSS task to complete',
    );
    await caughtUp(t);

    const json = await trail(['--order', o.orderId, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Trail;
    expect(report.orders).toHaveLength(1);
    const [order] = report.orders;
    const nodes = trailNodes(order?.roots.flatMap((r) => r.nodes) ?? []);
    const byType = (type: string) => nodes.find((n) => n.event.type === type);
    // Cause before effect, as the workflow links them.
    expect(byType('PaymentSucceeded')?.caused.map((n) => n.event.type)).toContain('OrderPaid');
    expect(byType('PaymentConfirmed')?.caused.map((n) => n.event.type)).toContain('OrderPaymentPending');
    const boss = byType('OrderPaid')?.tasks.find((x) => x.taskId === `boss:${o.orderId}:0`);
    // Each call is claimed before it is made; then what came of it.
    expect(boss?.attempts.map((a) => a.type)).toEqual(['TaskAttemptClaimed', 'TaskAttemptFailed', 'TaskAttemptClaimed', 'TaskCompleted']);
    expect(boss?.attempts[1]?.data.error).toMatch(/503/);
    expect(boss?.attempts[3]?.data.outcome).toMatch(/^bossRef /);
    expect(byType('OrderProvisioned')?.event.causationId).toBe(byType('OrderPaid')?.event.id);
    const trade = byType('OrderPaymentPending')?.tasks.find((x) => x.taskId === `trade:${o.paymentId}`);
    expect(trade?.attempts.at(-1)?.data.outcome).toMatch(/^trade T/);
    expect(byType('PaymentSucceeded')?.event.data).toMatchObject({ source: 'notification', notificationId: expect.stringMatching(/^N/) });
    expect(json.stdout).not.toMatch(/13800138000/);

    const text = await trail(['--order', o.orderId]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`order ${o.orderId} (payment ${o.paymentId}, card card-trail, phone 138****8000)`);
    expect(text.stdout).toMatch(/├─ task boss:[^\n]+\n[^\n]*├─ TaskAttemptClaimed attempt=1[^\n]*\n[^\n]*├─ TaskAttemptFailed attempt=1 error=[^\n]*503/);
    expect(text.stdout).toMatch(/└─ TaskCompleted attempt=2 outcome=bossRef /);
    expect(text.stdout).toMatch(/PaymentSucceeded payment-\S+@\d+ at \S+ by [^\n]+ amount=3800 fen tradeNo=T\w+ source=notification/);
  });

  it('by card and by phone number: every order of it; nothing matches: exit 1; usage: 64 (as the shell sees it)', async () => {
    const a = await placeAndConfirm(t, 'trail-a', { smartcardId: 'card-both' });
    const b = (await t.placeOrder({ smartcardId: 'card-both', productId: 'opera-month' }, 'trail-b')).json<{ orderId: string }>();
    const other = (await t.placeOrder({ smartcardId: 'card-other', msisdn: '13900139000' }, 'trail-c')).json<{ orderId: string }>();
    await orderInStatus(t, a.orderId, 'provisioned');
    await caughtUp(t);
    const byCard = JSON.parse((await trail(['--card', 'card-both', '--json'])).stdout) as Trail;
    expect(byCard.orders.map((x) => x.orderId).sort()).toEqual([a.orderId, b.orderId].sort());
    const byPhone = await trail(['--msisdn', '+8613900139000', '--json']);
    expect((JSON.parse(byPhone.stdout) as Trail).orders.map((x) => x.orderId)).toEqual([other.orderId]);
    expect(byPhone.stdout).not.toMatch(/13900139000/);
    const none = await trail(['--order', 'no-such-order']);
    expect(none).toMatchObject({ code: 1, stdout: 'no order matches\n' });
    expect((await trail(['--order', a.orderId, '--card', 'card-both'])).code).toBe(64);
    expect((await trail(['--msisdn', '12345'])).code).toBe(64);
    const shell = await runChild('scripts/trail.ts', [], { DATA_DIR: t.dataDir });
    expect(shell.code).toBe(64);
    expect(shell.stderr).toBe('trail: give exactly one of --order, --card, --msisdn (see --help)\n');
  });
});
