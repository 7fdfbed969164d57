/**
 * `npm run demo`: a narrated walk through the ordering flow of patent CN104967874A against a
 * running service, for a new user or a sales demo. A client like any other: it speaks only the
 * public HTTP API (README, "Walk through the flow with curl"), with fresh random ids each run.
 *
 * Exit 0 when the order ends provisioned; 1 with a one-line reason otherwise; 69 when the service
 * cannot be reached. With --json the narration goes to stderr and stdout gets what was bought, as JSON.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { EXIT, defineScript, runScript, type Io } from './cli.ts';
import { DEMO_OPTIONS, demoArgs, USAGE, type DemoArgs } from './demo/args.ts';
import { createApi, DemoFailure, expect, waitFor, type Api } from './demo/client.ts';
import { hideCode, maskMsisdn, maskNumbersIn, narrateTo, say, when, yuan } from './demo/format.ts';

const money = z.object({ value: z.number().int(), currency: z.string() });
const products = z.object({
  products: z.array(z.object({ productId: z.string(), name: z.string(), channels: z.array(z.string()), price: money, periodDays: z.number() })),
});
const placed = z.object({ orderId: z.string(), paymentId: z.string(), status: z.string(), amount: money, expiresAt: z.string() });
const messages = z.object({ messages: z.array(z.object({ messageId: z.string(), to: z.record(z.string(), z.string()), text: z.string() })) });
const paymentView = z.object({
  status: z.string(),
  subject: z.string(),
  amount: money,
  msisdn: z.string(),
  payBy: z.string(),
  codeExpiresAt: z.string(),
  attemptsLeft: z.number(),
});
const wrongCode = z.object({ detail: z.string(), attemptsLeft: z.number() });
const submitted = z.object({ status: z.literal('submitted') });
const orderView = z.object({
  status: z.string(),
  steps: z.record(z.string(), z.string()).optional(),
  boss: z.object({ bossRef: z.string().optional() }).loose().optional(),
  failureReason: z.string().optional(),
  cancelReason: z.string().optional(),
});
const entitlements = z.object({
  entitlements: z.array(z.object({ productId: z.string(), name: z.string(), channels: z.array(z.string()), validFrom: z.string(), validUntil: z.string() })),
});
const history = z.object({ events: z.array(z.object({ streamId: z.string(), revision: z.number(), position: z.string(), type: z.string() })) });

type Messages = z.infer<typeof messages>['messages'];

/** Order states the order will never leave: waiting for paid or provisioned past them is pointless. */
const DEAD_ENDS = new Set(['cancelled', 'expired', 'payment_failed', 'provisioning_failed', 'refunded']);

/** What the demo bought and paid (--json). The phone number is masked, as on screen. */
export type DemoReport = {
  url: string;
  orderId: string;
  paymentId: string;
  productId: string;
  smartcardId: string;
  subscriberId: string;
  phone: string;
  amount: { value: number; currency: string };
  status: string;
  validUntil: string;
  events: number;
};

const walk = async (args: DemoArgs, prompt: NodeJS.WritableStream): Promise<DemoReport> => {
  const api = createApi(args.url);
  const { tokens } = args;
  const card = `8100${String(randomInt(0, 1e12)).padStart(12, '0')}`;
  const subscriberId = `demo-${randomUUID().slice(0, 8)}`;
  const phone = maskMsisdn(args.msisdn);

  say.title(`tvpay-ledger demo · ${args.url}`);
  say.line('A subscriber orders a channel package on the set-top box and pays for it with the phone.');

  // 1. What can be bought.
  say.step(1, 'The set-top box lists the channel packages (GET /v1/products, open platform)');
  const catalog = expect(await api.call('GET', '/v1/products', tokens.openPlatform), 200, products, 'listing the products').products;
  for (const p of catalog) say.info(`${p.productId.padEnd(16)} ${yuan(p.price).padStart(8)} / ${`${p.periodDays} days`.padEnd(8)} ${p.name}`);
  const product = args.productId ? catalog.find((p) => p.productId === args.productId) : (catalog.find((p) => p.productId === 'sports-month') ?? catalog[0]);
  if (!product) throw new DemoFailure(args.productId ? `no product ${args.productId} in the catalog` : 'the catalog is empty');
  say.ok(`${catalog.length} packages; the subscriber picks ${product.productId} (${yuan(product.price)})`);

  // Messages already on the phone, so the demo picks out the one for this order.
  const smsSimulated = await phoneOutbox(api, args);
  const seen = new Set((smsSimulated ?? []).map((m) => m.messageId));

  // 2. The order.
  say.step(2, 'The open platform places the order, paid by phone (POST /v1/orders) — claim 1, steps 1–2');
  const order = expect(
    await api.call('POST', '/v1/orders', tokens.openPlatform, {
      headers: { 'idempotency-key': `demo-${randomUUID()}` },
      body: { subscriberId, smartcardId: card, msisdn: args.msisdn, productId: product.productId, paymentMethod: 'mobile' },
    }),
    201,
    placed,
    'placing the order',
  );
  say.ok(`order placed: ${order.orderId}`);
  say.info(`smartcard ${card}, subscriber ${subscriberId}, phone ${phone}`);
  say.info(`amount ${yuan(order.amount)}, status ${order.status}, expires ${when(order.expiresAt)} unless confirmed`);

  // 3. The code reaches the phone.
  say.step(3, `The phone ${phone} receives the order details and a one-time code by SMS — claim 3`);
  const code = smsSimulated ? await codeFromOutbox(api, args, seen) : await codeFromUser(phone, prompt);

  // 4. What the phone shows.
  say.step(4, 'The phone shows the payment before the subscriber confirms (GET /v1/payments/{id}, phone app) — claim 2');
  const payment = expect(await visible(api, `/v1/payments/${order.paymentId}`, tokens.phone, args), 200, paymentView, 'reading the payment');
  say.info(`┌──────────────────────────────────────────────`);
  say.info(`│ ${payment.subject}`);
  say.info(`│ ${yuan(payment.amount)} from the phone ${payment.msisdn}, to be paid by ${when(payment.payBy)}`);
  say.info(`│ code valid until ${when(payment.codeExpiresAt)} · ${payment.attemptsLeft} attempts`);
  say.info(`└──────────────────────────────────────────────`);
  say.ok(`payment ${order.paymentId} is ${payment.status}`);

  // 5. A wrong code first: refused, with the attempts left.
  say.step(5, 'The subscriber mistypes the code (POST /v1/payments/{id}/confirm)');
  const wrong = code.slice(0, 5) + String((Number(code[5]) + 1) % 10);
  const refusal = expect(
    await api.call('POST', `/v1/payments/${order.paymentId}/confirm`, tokens.phone, { body: { code: wrong } }),
    422,
    wrongCode,
    'confirming with a wrong code',
  );
  say.refused(`wrong code refused: 422, ${refusal.attemptsLeft} attempts left (5 wrong codes cancel the order)`);

  // 6. The right code.
  say.step(6, 'The subscriber confirms with the right code — claim 1, step 3');
  expect(await api.call('POST', `/v1/payments/${order.paymentId}/confirm`, tokens.phone, { body: { code } }), 200, submitted, 'confirming with the code');
  say.ok('confirmed: the payment request went to the mobile payment platform');

  // 7. Paid, then provisioned.
  say.step(7, 'The platform charges and notifies us; BOSS opens the channels — claim 1, steps 4–5');
  const paid = await orderReaches(api, args, order.orderId, ['paid', 'provisioned'], 'the payment result');
  say.ok(`paid at ${when(paid.steps?.paidAt)} (signed notification from the payment platform)`);
  const done = await orderReaches(api, args, order.orderId, ['provisioned'], 'BOSS to open the channels');
  say.ok(`provisioned at ${when(done.steps?.provisionedAt)}${done.boss?.bossRef ? ` (BOSS ref ${done.boss.bossRef})` : ''}`);

  // 8. The entitlement.
  say.step(8, `What the set-top box may now show (GET /v1/smartcards/${card}/entitlements)`);
  const entitlement = await waitFor('the entitlement to show', args.timeoutMs, async () => {
    const r = expect(await api.call('GET', `/v1/smartcards/${card}/entitlements`, tokens.openPlatform), 200, entitlements, 'reading the entitlements');
    return r.entitlements.find((e) => e.productId === product.productId);
  });
  say.ok(`${entitlement.name}: ${entitlement.channels.length} channels, valid until ${when(entitlement.validUntil)}`);
  say.info(entitlement.channels.join(' · '));

  // 9. What the TV was told.
  say.step(9, 'The messages the TV received (GET /v1/dev/sms?smartcardId=) — claim 3');
  const tvMessages = smsSimulated ? await tvOutbox(api, args, card) : undefined;
  if (tvMessages) for (const m of tvMessages) say.ok(`TV: ${m.text}`);
  else say.info('skipped: a real SMS gateway is configured, the TV messages went out through it');

  // 10. The history.
  say.step(10, `The order's history, from the event store (GET /v1/orders/{id}/history)`);
  const events = expect(await api.call('GET', `/v1/orders/${order.orderId}/history`, tokens.service), 200, history, 'reading the history').events;
  for (const e of events) say.info(`@${e.position.padEnd(8)} ${e.type.padEnd(28)} ${e.streamId.split('-')[0]} rev ${e.revision}`);
  say.ok(`${events.length} events on the order and payment streams, in the order they were recorded`);

  // What just happened.
  say.title('What just happened (patent CN104967874A)');
  say.line(`Claim 1 (1)–(2) The set-top box ordered ${product.name} and chose mobile payment; the open platform`);
  say.line(`                sent the order-payment request to us (step 2: OrderPlaced, PaymentRequested).`);
  say.line(`Claim 1 (3)     We asked the subscriber to confirm with a one-time code; a wrong code was refused`);
  say.line(`                (step 5), the right one sent the payment request to the platform (step 6).`);
  say.line(`Claim 1 (4)     The platform's signed result made the payment succeed and the order paid (step 7).`);
  say.line(`Claim 1 (5)     BOSS opened ${entitlement.channels.length} channels on smartcard ${card} (steps 7–8).`);
  say.line(`Claim 2         The confirmation ran on the subscriber's phone: the phone-app role (steps 4–6).`);
  say.line(
    `Claim 3         The SMS platform sent the order details to the phone${tvMessages ? ` and ${tvMessages.length} messages to the TV` : ' and to the TV'} (steps 3, 9).`,
  );
  say.line(`Every step is an event in the log (step 10): replaying it rebuilds every view, and audits every fen.`);
  say.line('');
  say.ok(`done: ${yuan(order.amount)} paid by ${phone}, ${product.productId} open on ${card}`);
  return {
    url: args.url,
    orderId: order.orderId,
    paymentId: order.paymentId,
    productId: product.productId,
    smartcardId: card,
    subscriberId,
    phone,
    amount: order.amount,
    status: done.status,
    validUntil: entitlement.validUntil,
    events: events.length,
  };
};

/** The phone's messages, or undefined when the service has no simulated SMS gateway (404). */
const phoneOutbox = async (api: Api, args: DemoArgs): Promise<Messages | undefined> => {
  const national = args.msisdn.replace(/^\+?86(?=1\d{10}$)/, ''); // the outbox matches national or +86 numbers
  const r = await api.call('GET', `/v1/dev/sms?msisdn=${encodeURIComponent(national)}`, args.tokens.admin);
  if (r.status === 404) return undefined;
  return expect(r, 200, messages, 'reading the simulated SMS outbox (admin token)').messages;
};

/** Waits for a new message with a code on the phone, shows it (code hidden), returns the code. */
const codeFromOutbox = async (api: Api, args: DemoArgs, seen: ReadonlySet<string>): Promise<string> => {
  const found = await waitFor('the SMS with the code', args.timeoutMs, async () => {
    const all = (await phoneOutbox(api, args)) ?? [];
    for (const m of all) {
      const code = seen.has(m.messageId) ? undefined : /验证码(\d{6})/.exec(m.text)?.[1];
      if (code) return { code, text: m.text };
    }
    return undefined;
  });
  say.ok(`SMS to ${maskMsisdn(args.msisdn)}: ${hideCode(found.text)}`);
  say.info('(the simulated SMS gateway is read through GET /v1/dev/sms; the demo takes the code from it)');
  return found.code;
};

/** With a real SMS gateway the code is on a real phone: ask for it. */
const codeFromUser = async (phone: string, output: NodeJS.WritableStream): Promise<string> => {
  say.info('This service sends SMS through a real gateway (GET /v1/dev/sms answers 404), so the code');
  say.info(`is on the phone ${phone}. Type it here.`);
  const rl = createInterface({ input: process.stdin, output });
  const closed = new Promise<never>((_, reject) => rl.once('close', () => reject(new DemoFailure('no code was entered'))));
  try {
    for (let tries = 0; tries < 3; tries++) {
      const answer = (await Promise.race([rl.question('    ? the 6-digit code from the SMS: '), closed])).trim();
      if (/^\d{6}$/.test(answer)) {
        say.ok('code entered');
        return answer;
      }
      say.info('that is not 6 digits; try again');
    }
    throw new DemoFailure('no 6-digit code was entered');
  } finally {
    closed.catch(() => undefined);
    rl.close();
  }
};

/** The TV's messages, once the "channels open" message has arrived (or what is there at the deadline). */
const tvOutbox = async (api: Api, args: DemoArgs, card: string): Promise<Messages> => {
  const read = async () =>
    expect(await api.call('GET', `/v1/dev/sms?smartcardId=${card}`, args.tokens.admin), 200, messages, 'reading the TV messages').messages;
  return waitFor('the TV message saying the channels are open', args.timeoutMs, async () => {
    const all = await read();
    return all.some((m) => m.text.includes('已开通')) ? all : undefined;
  });
};

/** GET that waits out a 503 "not yet visible" (the read model catching up). */
const visible = (api: Api, path: string, token: string, args: DemoArgs) =>
  waitFor(`GET ${path.split('?')[0]}`, args.timeoutMs, async () => {
    const r = await api.call('GET', path, token);
    return r.status === 503 ? undefined : r;
  });

/** Polls the order until it reaches one of `targets`; fails at once if it ends anywhere else. */
const orderReaches = (api: Api, args: DemoArgs, orderId: string, targets: readonly string[], what: string) =>
  waitFor(what, args.timeoutMs, async () => {
    const o = expect(await visible(api, `/v1/orders/${orderId}`, args.tokens.service, args), 200, orderView, 'reading the order');
    if (targets.includes(o.status)) return o;
    if (DEAD_ENDS.has(o.status)) {
      const why = o.failureReason ?? o.cancelReason;
      throw new DemoFailure(`the order ended ${o.status}${why ? ` (${why})` : ''} instead of ${targets.join(' or ')}`);
    }
    return undefined;
  });

export const demoScript = defineScript({
  name: 'demo',
  usage: USAGE,
  options: DEMO_OPTIONS,
  main: async (values, io: Io) => {
    const args = demoArgs(values);
    const prompt = values.json ? process.stderr : process.stdout;
    if (values.json) narrateTo(io.stderr);
    try {
      const report = await walk(args, prompt);
      if (values.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return EXIT.ok;
    } catch (err) {
      // One line, numbers masked: the reason may quote a recipient.
      const reason = err instanceof DemoFailure ? err.message : `unexpected error: ${err instanceof Error ? err.message : String(err)}`;
      io.stderr.write(`\n✗ demo failed: ${maskNumbersIn(reason.split('\n')[0] ?? reason)}\n`);
      return err instanceof DemoFailure ? (err.unavailable ? EXIT.unavailable : EXIT.findings) : EXIT.internal;
    }
  },
});

runScript(demoScript, import.meta.url);
