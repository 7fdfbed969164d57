import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from '../support/expect-answer.ts';
import { atOnce, tally } from '../support/races.ts';
import { startTestLedger, type TestLedger } from '../support/ledger-app.ts';
import { TOKENS } from '../support/fixtures.ts';
import {
  codeWasDelivered,
  confirmed,
  countOf,
  expectProblem,
  expectValidation,
  newEvents,
  placed,
  postAs,
  typesOf,
  UNKNOWN_ID,
  writesNothing,
} from './support.ts';

let t: TestLedger;
beforeEach(async () => {
  t = await startTestLedger();
});
afterEach(async () => {
  await t.close();
});

/** A six-digit code that is not the payment's current one. */
const wrongCode = (right: string): string => (right === '000000' ? '111111' : '000000');

const resend = (paymentId: string, token: string | undefined = TOKENS.phone) => postAs(t, token, `/v1/payments/${paymentId}/resend-code`);
const decline = (paymentId: string, token: string | undefined = TOKENS.phone) => postAs(t, token, `/v1/payments/${paymentId}/decline`);
const confirmAs = (paymentId: string, token: string | undefined, payload: Record<string, unknown>) =>
  postAs(t, token, `/v1/payments/${paymentId}/confirm`, payload);

describe('POST /v1/payments/{paymentId}/confirm', () => {
  it('confirm and cancel at once: exactly one of them wins, and each answer says what happened to the money', async () => {
    for (let i = 0; i < 8; i++) {
      const { orderId, paymentId } = await placed(t, `race-cancel-${i}`);
      const [confirm, cancel] = await Promise.all([t.confirm(paymentId, t.codeFor(paymentId)), postAs(t, TOKENS.openPlatform, `/v1/orders/${orderId}/cancel`)]);
      const events = (await t.allEvents()).filter((e) => e.streamId.endsWith(paymentId) || e.streamId.endsWith(orderId));
      if (cancel.statusCode === 200) {
        // The order closed first: the confirmation was voided, nothing goes to the platform, and the phone is told so.
        expectProblem(confirm, 409, 'order-not-payable');
        expect(typesOf(events)).toContain('PaymentVoided');
        expect(typesOf(events)).not.toContain('OrderPaymentPending');
      } else {
        expectProblem(cancel, 409, 'order-not-cancellable');
        expectAnswer(confirm, 200, { paymentId, status: 'submitted' });
        expect(typesOf(events)).toContain('OrderPaymentPending');
        expect(typesOf(events)).not.toContain('PaymentVoided');
      }
    }
  });

  it('200 submitted: PaymentConfirmed + OrderPaymentPending', async () => {
    const { orderId, paymentId } = await placed(t);
    const written = await newEvents(t, async () => expectAnswer(await t.confirm(paymentId, t.codeFor(paymentId)), 200, { paymentId, status: 'submitted' }));
    expect(typesOf(written)).toEqual(['PaymentConfirmed', 'OrderPaymentPending']);
    expect(written[1]?.data).toMatchObject({ orderId, paymentId });
  });

  it('409 once already confirmed, nothing written', async () => {
    const { paymentId } = await confirmed(t);
    await writesNothing(t, async () => {
      expectProblem(await t.confirm(paymentId, t.codeFor(paymentId)), 409, 'payment-already-confirmed');
    });
  });

  it('422 wrong code with attemptsLeft; writes exactly one PaymentCodeRejected', async () => {
    const { paymentId } = await placed(t);
    const written = await newEvents(t, async () => {
      const body = expectProblem(await t.confirm(paymentId, wrongCode(t.codeFor(paymentId))), 422, 'wrong-code');
      expect(body.attemptsLeft).toBe(4);
      expect(body.paymentId).toBe(paymentId);
    });
    expect(typesOf(written)).toEqual(['PaymentCodeRejected']);
    expect(written[0]?.data).toMatchObject({ paymentId, wrongAttempts: 1, attemptsLeft: 4 });
    // The right code still works afterwards.
    expect((await t.confirm(paymentId, t.codeFor(paymentId))).statusCode).toBe(200);
  });

  it('five wrong codes: the 5th is 422 with attemptsLeft 0, payment failed, order cancelled; a 6th → 409', async () => {
    const { orderId, paymentId } = await placed(t);
    const wrong = wrongCode(t.codeFor(paymentId));
    for (let i = 1; i <= 4; i++) {
      const body = expectProblem(await t.confirm(paymentId, wrong), 422, 'wrong-code');
      expect(body.attemptsLeft).toBe(5 - i);
    }
    const written = await newEvents(t, async () => {
      const body = expectProblem(await t.confirm(paymentId, wrong), 422, 'wrong-code');
      expect(body.attemptsLeft).toBe(0);
    });
    expect(typesOf(written)).toEqual(['PaymentCodeRejected', 'PaymentFailed', 'OrderCancelled']);
    expect(written[1]?.data).toMatchObject({ paymentId, reason: 'too_many_wrong_codes' });
    expect(written[2]?.data).toMatchObject({ orderId, reason: 'too_many_wrong_codes' });
    expect(countOf(await t.allEvents(), 'PaymentCodeRejected')).toBe(5);

    await writesNothing(t, async () => {
      expectProblem(await t.confirm(paymentId, t.codeFor(paymentId)), 409);
      expectProblem(await t.confirm(paymentId, wrong), 409);
    });
  });

  it('8 concurrent wrong codes: five 422 (attemptsLeft 4…0), then 409; exactly 5 rejections, one failure; never a 5xx', async () => {
    const { paymentId } = await placed(t);
    const wrong = wrongCode(t.codeFor(paymentId));
    const responses = await atOnce(8, () => t.confirm(paymentId, wrong));
    expect(responses.map((r) => r.statusCode).sort()).toEqual([409, 409, 409, 422, 422, 422, 422, 422]);
    const left = responses.filter((r) => r.statusCode === 422).map((r) => r.json<{ attemptsLeft: number }>().attemptsLeft);
    expect(left.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(tally(await t.allEvents(), 'PaymentCodeRejected', 'PaymentFailed', 'OrderCancelled')).toEqual({
      PaymentCodeRejected: 5,
      PaymentFailed: 1,
      OrderCancelled: 1,
    });
  });

  it('10 concurrent right codes: one 200, nine 409, one PaymentConfirmed', async () => {
    const { paymentId } = await placed(t);
    const responses = await atOnce(10, () => t.confirm(paymentId, t.codeFor(paymentId)));
    expect(responses.filter((r) => r.statusCode === 200)).toHaveLength(1);
    for (const r of responses.filter((x) => x.statusCode !== 200)) expectProblem(r, 409, 'payment-already-confirmed');
    expect(tally(await t.allEvents(), 'PaymentConfirmed', 'OrderPaymentPending')).toEqual({ PaymentConfirmed: 1, OrderPaymentPending: 1 });
  });

  // The right code, too late.
  for (const { name, after, status, type } of [
    { name: '422 code-expired past CODE_TTL (300 s), nothing written', after: 300, status: 422, type: 'code-expired' },
    { name: '409 past the order TTL (900 s): order-not-payable, nothing written', after: 901, status: 409, type: 'order-not-payable' },
  ]) {
    it(name, async () => {
      const { paymentId } = await placed(t);
      t.clock.advance(after);
      await writesNothing(t, async () => {
        expectProblem(await t.confirm(paymentId, t.codeFor(paymentId)), status, type);
      });
    });
  }

  it('just before CODE_TTL the code still works', async () => {
    const { paymentId } = await placed(t);
    t.clock.advance(299);
    expect((await t.confirm(paymentId, t.codeFor(paymentId))).statusCode).toBe(200);
  });

  it('404 for an unknown payment', async () => {
    await writesNothing(t, async () => {
      expectProblem(await t.confirm(UNKNOWN_ID, '123456'), 404, 'payment-not-found');
    });
  });

  it('400: code not six digits, missing code, extra field, bad paymentId', async () => {
    const { paymentId } = await placed(t);
    await writesNothing(t, async () => {
      expectValidation(await t.confirm(paymentId, '12345'), 'body.code');
      expectValidation(await t.confirm(paymentId, 'abcdef'), 'body.code');
      expectValidation(await t.confirm(paymentId, '1234567'), 'body.code');
      expectValidation(await confirmAs(paymentId, TOKENS.phone, {}), 'body.code');
      expectProblem(await confirmAs(paymentId, TOKENS.phone, { code: t.codeFor(paymentId), extra: 1 }), 400, 'validation');
      expectValidation(await t.confirm('not-a-uuid', '123456'), 'params.paymentId');
    });
  });

  it('401 without or with an unknown token; 403 for other roles', async () => {
    const { paymentId } = await placed(t);
    const code = t.codeFor(paymentId);
    await writesNothing(t, async () => {
      expectProblem(await confirmAs(paymentId, undefined, { code }), 401, 'unauthorized');
      expectProblem(await confirmAs(paymentId, 'no-such-token-12345', { code }), 401, 'unauthorized');
      for (const token of [TOKENS.openPlatform, TOKENS.service, TOKENS.admin]) {
        expectProblem(await confirmAs(paymentId, token, { code }), 403, 'forbidden');
      }
    });
  });
});

describe('POST /v1/payments/{paymentId}/resend-code', () => {
  it('a code sent close to the order’s deadline is valid until that deadline, not its full lifetime past it', async () => {
    const { paymentId, expiresAt } = await placed(t);
    t.clock.advance(880);
    const res = await resend(paymentId);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ paymentId, codeExpiresAt: expiresAt });
  });

  it('a code the SMS gateway never took may be replaced at once (no wait), and counts as a resend', async () => {
    const { paymentId } = await placed(t);
    t.clock.advance(5);
    const res = await resend(paymentId);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ paymentId, resendsLeft: 2 });
    await codeWasDelivered(t, paymentId, 2);
    // The new code was delivered: the interval holds again.
    expectProblem(await resend(paymentId), 429, 'resend-limit-reached');
  });

  it('429 too soon, with Retry-After; after the interval 200 with a new code (old code then wrong)', async () => {
    const { paymentId } = await placed(t);
    await codeWasDelivered(t, paymentId);
    t.clock.advance(20);
    await writesNothing(t, async () => {
      const res = await resend(paymentId);
      const body = expectProblem(res, 429, 'resend-limit-reached');
      expect(res.headers['retry-after']).toBe('40');
      expect(body.retryAfterSeconds).toBe(40);
    });
    t.clock.advance(40);
    const written = await newEvents(t, async () =>
      expectAnswer(await resend(paymentId), 200, { paymentId, codeExpiresAt: '2026-11-25T08:06:00.000Z', resendsLeft: 2 }),
    );
    expect(typesOf(written)).toEqual(['PaymentCodeResent']);
    expect(written[0]?.data).toMatchObject({ paymentId, codeSeq: 2 });

    expectProblem(await t.confirm(paymentId, t.codeFor(paymentId, 1) === t.codeFor(paymentId, 2) ? '000000' : t.codeFor(paymentId, 1)), 422, 'wrong-code');
    expect((await t.confirm(paymentId, t.codeFor(paymentId, 2))).statusCode).toBe(200);
  });

  it('a resent code extends the code life past the first CODE_TTL', async () => {
    const { paymentId } = await placed(t);
    t.clock.advance(250);
    expect((await resend(paymentId)).statusCode).toBe(200);
    t.clock.advance(200); // 450 s after placing: the first code would be dead
    expect((await t.confirm(paymentId, t.codeFor(paymentId, 2))).statusCode).toBe(200);
  });

  it('429 too many: after 3 resends no more codes (no Retry-After: there is no later), nothing written', async () => {
    const { paymentId } = await placed(t);
    for (let i = 0; i < 3; i++) {
      await codeWasDelivered(t, paymentId, i + 1);
      t.clock.advance(60);
      const res = await resend(paymentId);
      expect(res.statusCode).toBe(200);
      expect(res.json<{ resendsLeft: number }>().resendsLeft).toBe(2 - i);
    }
    t.clock.advance(60);
    await writesNothing(t, async () => {
      const res = await resend(paymentId);
      expectProblem(res, 429, 'resend-limit-reached');
      expect(res.headers['retry-after']).toBeUndefined();
    });
  });

  it('409 once confirmed, and past the order TTL', async () => {
    const { paymentId } = await confirmed(t, 'k-confirmed');
    const other = await placed(t, 'k-late');
    t.clock.advance(901);
    await writesNothing(t, async () => {
      expectProblem(await resend(paymentId), 409, 'payment-already-confirmed');
      expectProblem(await resend(other.paymentId), 409, 'order-not-payable');
    });
  });

  it('404 unknown payment; 400 bad id; 401; 403', async () => {
    const { paymentId } = await placed(t);
    t.clock.advance(60);
    await writesNothing(t, async () => {
      expectProblem(await resend(UNKNOWN_ID), 404, 'payment-not-found');
      expectValidation(await resend('nope'), 'params.paymentId');
      expectProblem(await postAs(t, undefined, `/v1/payments/${paymentId}/resend-code`), 401, 'unauthorized');
      expectProblem(await resend(paymentId, 'no-such-token-12345'), 401, 'unauthorized');
      expectProblem(await resend(paymentId, TOKENS.openPlatform), 403, 'forbidden');
      expectProblem(await resend(paymentId, TOKENS.admin), 403, 'forbidden');
    });
  });
});

describe('POST /v1/payments/{paymentId}/decline', () => {
  it('200 declined: PaymentDeclined + OrderCancelled(declined); then confirm → 409; decline again → 200, nothing new', async () => {
    const { orderId, paymentId } = await placed(t);
    const written = await newEvents(t, async () => expectAnswer(await decline(paymentId), 200, { paymentId, status: 'declined' }));
    expect(typesOf(written)).toEqual(['PaymentDeclined', 'OrderCancelled']);
    expect(written[1]?.data).toMatchObject({ orderId, reason: 'declined' });

    await writesNothing(t, async () => {
      expectProblem(await t.confirm(paymentId, t.codeFor(paymentId)), 409, 'payment-closed');
      expect((await decline(paymentId)).statusCode).toBe(200);
    });
  });

  it('409 once confirmed, nothing written', async () => {
    const { paymentId } = await confirmed(t);
    await writesNothing(t, async () => {
      expectProblem(await decline(paymentId), 409, 'payment-already-confirmed');
    });
  });

  it('409 once the order was cancelled', async () => {
    const { orderId, paymentId } = await placed(t);
    expect((await postAs(t, TOKENS.openPlatform, `/v1/orders/${orderId}/cancel`)).statusCode).toBe(200);
    await writesNothing(t, async () => {
      expectProblem(await decline(paymentId), 409, 'payment-closed');
    });
  });

  it('404 unknown payment; 400 bad id; 401; 403', async () => {
    const { paymentId } = await placed(t);
    await writesNothing(t, async () => {
      expectProblem(await decline(UNKNOWN_ID), 404, 'payment-not-found');
      expectValidation(await decline('nope'), 'params.paymentId');
      expectProblem(await postAs(t, undefined, `/v1/payments/${paymentId}/decline`), 401, 'unauthorized');
      expectProblem(await decline(paymentId, 'no-such-token-12345'), 401, 'unauthorized');
      expectProblem(await decline(paymentId, TOKENS.openPlatform), 403, 'forbidden');
      expectProblem(await decline(paymentId, TOKENS.admin), 403, 'forbidden');
    });
  });
});
