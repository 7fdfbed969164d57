/**
 * The whole patent flow in one process: the in-process simulators, the projections,
 * reactors and task worker, driven through the API. Waits on projections, never sleeps.
 */
import { describe, expect, it } from 'vitest';
import { bearer, TOKENS } from '../support/fixtures.ts';
import { ledgerPerTest } from '../support/ledger-per-test.ts';
import { stacks } from './stacks.ts';
import { eventually, orderInStatus, sms } from './support.ts';

describe.each(stacks)('in-process flow on $name', (stack) => {
  const ledger = ledgerPerTest(stack, { RETRY_BASE_MS: '5' });

  it('order → code by SMS → confirm → paid → BOSS → entitlement, SMS to phone and TV', async () => {
    const t = ledger();
    const placed = (await t.placeOrder({ smartcardId: 'card-1' }, 'flow-1')).json<{ orderId: string; paymentId: string }>();
    const codeSms = await eventually(
      t,
      async () =>
        sms(t)
          .messages({ msisdn: '13800138000' })
          .find((m) => /验证码/.test(m.text)),
      'the code SMS',
    );
    const code = /验证码(\d{6})/.exec(codeSms.text)?.[1];
    expect(code).toBe(t.codeFor(placed.paymentId));
    expect((await t.confirm(placed.paymentId, code ?? '')).statusCode).toBe(200);
    const done = await orderInStatus(t, placed.orderId, 'provisioned');
    expect(done.boss).toMatchObject({ bossRef: expect.any(String) });
    // The entitlements read model is a projection of its own: it may be a moment behind the orders one.
    const entitlements = await eventually(
      t,
      async () => {
        const r = await t.app.inject({ method: 'GET', url: '/v1/smartcards/card-1/entitlements', headers: bearer(TOKENS.openPlatform) });
        const list = r.json<{ entitlements: unknown[] }>().entitlements;
        return list.length > 0 ? list : undefined;
      },
      'the entitlement',
    );
    expect(entitlements).toEqual([expect.objectContaining({ productId: 'sports-month', channels: expect.arrayContaining(['CCTV-5 HD']) })]);
    // The paid notices are tasks of their own: provisioning may finish before they are sent.
    const paidTexts = () =>
      sms(t)
        .messages()
        .map((m) => `${'msisdn' in m.to ? 'phone' : 'tv'}:${m.text}`)
        .filter((x) => x.includes('已支付'));
    const texts = await eventually(
      t,
      async () => {
        const sent = paidTexts();
        return sent.some((x) => x.startsWith('phone:')) && sent.some((x) => x.startsWith('tv:')) ? sent : undefined;
      },
      'the paid SMS to the phone and the TV',
    );
    expect(texts.filter((x) => x.startsWith('phone:'))).toHaveLength(1);
    expect(texts.filter((x) => x.startsWith('tv:'))).toHaveLength(1);

    // Operations see it too: commands by outcome, append latency, projection lag, outbound calls. The
    // BOSS call is counted once its attempt is over, which the provisioned order may be seen before.
    const BOSS_OK = /^tvpay_outbound_calls_total\{system="boss",task="boss",outcome="ok"\} 1$/m;
    const metrics = await eventually(
      t,
      async () => {
        const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
        return BOSS_OK.test(body) ? body : undefined;
      },
      'the BOSS call counted',
    );
    expect(metrics).toMatch(/^tvpay_commands_total\{command="PlaceOrder",outcome="accepted"\} 1$/m);
    expect(metrics).toMatch(/^tvpay_event_append_seconds_count \d+$/m);
    expect(metrics).toMatch(/^tvpay_projection_lag_seconds\{projection="orders"\} [\d.e+-]+$/m);
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toMatchObject({ eventStore: 'ok', readStore: 'ok', 'projection:orders': 'active', taskWorker: 'active' });
  });
});
