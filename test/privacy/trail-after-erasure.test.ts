/**
 * `npm run trail` after an erasure (in this process, on the running ledger's DATA_DIR): the orders of
 * the erased subscriber keep their whole trail, but where the (masked) number stood it says "erased",
 * in text and in JSON; the number no longer finds them; another subscriber's number is still shown.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trailScript } from '../../scripts/trail.ts';
import type { Trail } from '../../scripts/trail/collect.ts';
import { caughtUp } from '../flow/support.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { TOKENS } from '../support/fixtures.ts';
import { runInProcess } from '../support/run-script.ts';
import { trailNodes } from '../support/trail.ts';
import { eraseAs, household, OTHER_PHONE, PHONE, spellings } from './support.ts';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger({ RETRY_BASE_MS: '5' }, { process: true });
});
afterEach(async () => t.close());

const trail = (args: string[]) => runInProcess(trailScript, args, { DATA_DIR: t.dataDir });
const MASKED = '138****8000';

/** Every event of the order's trail, with the attempts of the tasks it created. */
const eventsOf = (report: Trail): { type: string; data: Record<string, unknown> }[] =>
  trailNodes(report.orders.flatMap((o) => o.roots.flatMap((r) => r.nodes))).flatMap((n) => [n.event, ...n.tasks.flatMap((task) => task.attempts)]);
const numbersIn = (report: Trail): string[] => eventsOf(report).flatMap((e) => ('msisdn' in e.data ? [`${e.type}:${String(e.data.msisdn)}`] : []));

describe('npm run trail after an erasure', () => {
  it('the erased subscriber’s orders: their whole trail, "erased" where the number was, in text and JSON; the number finds nothing; the other subscriber unchanged', async () => {
    const { paid, cancelled, other } = await household(t);
    await caughtUp(t);
    // Before: the trail shows the number masked, so the checks below can fail.
    const before = await trail(['--order', paid.orderId]);
    expect(before.code).toBe(0);
    expect(before.stdout).toContain(`phone ${MASKED}`);
    const beforeJson = JSON.parse((await trail(['--order', paid.orderId, '--json'])).stdout) as Trail;
    expect(numbersIn(beforeJson)).toEqual([`OrderPlaced:${MASKED}`, `PaymentRequested:${MASKED}`]);

    expect((await eraseAs(t, TOKENS.admin, 'sub-1001')).statusCode).toBe(200);
    await caughtUp(t);

    for (const order of [paid, cancelled]) {
      const text = await trail(['--order', order.orderId]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain(`order ${order.orderId} (payment ${order.paymentId}, card 8100000000001001, phone erased)`);
      const json = await trail(['--order', order.orderId, '--json']);
      expect(json.code, json.stderr).toBe(0);
      const report = JSON.parse(json.stdout) as Trail;
      expect(report.orders).toEqual([expect.objectContaining({ orderId: order.orderId, msisdn: 'erased' })]);
      expect(numbersIn(report)).toEqual(['OrderPlaced:erased', 'PaymentRequested:erased']);
      for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) {
        for (const needle of [...spellings(PHONE), MASKED]) expect(out).not.toContain(needle);
      }
    }
    // The whole trail is still there: the paid order's events did not go with the number.
    const paidTrail = JSON.parse((await trail(['--order', paid.orderId, '--json'])).stdout) as Trail;
    expect(eventsOf(paidTrail).map((e) => e.type)).toEqual(
      expect.arrayContaining(['OrderPlaced', 'PaymentConfirmed', 'PaymentSucceeded', 'OrderPaid', 'OrderProvisioned']),
    );

    // By card: both orders, erased; by the number: nothing matches any more.
    const byCard = await trail(['--card', '8100000000001001', '--json']);
    const cardReport = JSON.parse(byCard.stdout) as Trail;
    expect(cardReport.orders.map((o) => [o.orderId, o.msisdn]).sort()).toEqual(
      [
        [paid.orderId, 'erased'],
        [cancelled.orderId, 'erased'],
      ].sort(),
    );
    for (const needle of [...spellings(PHONE), MASKED]) expect(byCard.stdout).not.toContain(needle);
    expect(await trail(['--msisdn', PHONE])).toMatchObject({ code: 1, stdout: 'no order matches\n' });

    // The other subscriber's order still shows its number, masked.
    const otherText = await trail(['--order', other.orderId]);
    expect(otherText.stdout).toContain(`phone 139****9000`);
    expect(otherText.stdout).not.toContain(OTHER_PHONE);
  });
});
