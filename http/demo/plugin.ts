/**
 * The patent flow as two pages, for demonstrations outside production: /demo/tv (a set-top box
 * driven by the remote's arrow keys and Enter) and /demo/phone (the subscriber's phone, with the
 * SMS inbox of the in-process simulator). Opened side by side they run patent claims 1–3.
 *
 * The pages hold no API token. They call /demo/api/…, which acts for one demo household only
 * (its smartcard and phone number), through the ledger's own command functions, as the open
 * platform (the TV) and the phone app (the phone), with named actors so the history says so.
 *
 * Registered only outside production while every partner is simulated in-process (app/service.ts):
 * the phone's inbox is the SMS simulator's memory, and no real money or BOSS is ever involved.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { confirmPayment } from '../../commands/confirm-payment.ts';
import { declinePayment } from '../../commands/decline-payment.ts';
import type { LedgerDeps } from '../../commands/deps.ts';
import type { CommandContext } from '../../commands/execute.ts';
import { e164, maskMsisdn, normalizeMsisdn } from '../../domain/msisdn.ts';
import { placeOrder } from '../../commands/place-order.ts';
import { resendCode } from '../../commands/resend-code.ts';
import { PaymentNotFound } from '../../domain/errors.ts';
import { ENTITLEMENTS } from '../../projections/entitlements.ts';
import { ORDERS, PAYMENTS } from '../../projections/orders.ts';
import type { Actor } from '../../stores/event-store.ts';
import type { Doc, ReadStore } from '../../stores/read-store.ts';
import { pageHeaders } from '../console/page-headers.ts';
import { confirmBody, paymentParams } from '../schemas.ts';

/** One SMS as the simulator keeps it: to a phone (`msisdn`) or a set-top box (`smartcardId`). */
export type DemoMessage = { messageId: string; to: { msisdn: string } | { smartcardId: string }; text: string; receivedAt: string };

export type DemoHousehold = { subscriberId: string; smartcardId: string; msisdn: string };

export type DemoOptions = {
  ledger: LedgerDeps;
  reads: ReadStore;
  /** The orders read model's digest of a normalised phone number (to find the phone's orders). */
  msisdnKey: (msisdn: string) => string;
  /** The in-process SMS simulator's messages to one phone or one card. */
  inbox: (filter: { msisdn?: string; smartcardId?: string }) => readonly DemoMessage[];
  /** The household the pages act for; the README's example subscriber by default. */
  household?: DemoHousehold;
};

export const DEMO_HOUSEHOLD: DemoHousehold = { subscriberId: 'sub-42', smartcardId: '8100000000000042', msisdn: '13800138000' };

const TV: Actor = { role: 'open-platform', client: 'demo/set-top-box', name: 'demo-tv' };
const PHONE: Actor = { role: 'phone-app', client: 'demo/phone', name: 'demo-phone' };
const MESSAGES_SHOWN = 20;

const context = (req: FastifyRequest, actor: Actor): Omit<CommandContext, 'commandKey'> => ({ correlationId: req.id, causationId: req.id, actor });

const orderView = (o: Doc) => ({
  orderId: o.orderId,
  paymentId: o.paymentId,
  status: o.status,
  product: o.product,
  amount: o.amount,
  msisdn: o.msisdn,
  placedAt: o.placedAt,
  expiresAt: o.expiresAt,
  boss: o.boss,
});

const paymentView = (p: Doc, order: Doc | null) => ({
  paymentId: p.paymentId,
  orderId: p.orderId,
  status: p.status,
  subject: p.subject,
  amount: p.amount,
  payBy: p.payBy,
  codeExpiresAt: p.codeExpiresAt,
  attemptsLeft: p.attemptsLeft,
  resendsLeft: p.resendsLeft,
  orderStatus: order?.status ?? null,
  product: order?.product ?? null,
});

const newestFirst = (messages: readonly DemoMessage[]) =>
  [...messages]
    .reverse()
    .slice(0, MESSAGES_SHOWN)
    .map((m) => ({ messageId: m.messageId, text: m.text, receivedAt: m.receivedAt }));

export const demoPlugin: FastifyPluginAsync<DemoOptions> = async (base, opts) => {
  const { ledger, reads, inbox } = opts;
  const home = opts.household ?? DEMO_HOUSEHOLD;
  const msisdn = normalizeMsisdn(home.msisdn);
  if (!msisdn) throw new Error(`demo household: ${maskMsisdn(home.msisdn)} is not a mainland mobile number`);
  const phoneKey = opts.msisdnKey(msisdn);
  const app = base.withTypeProvider<ZodTypeProvider>();
  pageHeaders(base);

  const pages = {
    tv: readFileSync(fileURLToPath(new URL('./assets/tv.html', import.meta.url)), 'utf8'),
    phone: readFileSync(fileURLToPath(new URL('./assets/phone.html', import.meta.url)), 'utf8'),
  };
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('./assets/', import.meta.url)),
    prefix: '/demo/assets/',
    decorateReply: false,
    cacheControl: false,
  });
  const page = (html: string) => async (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/html; charset=utf-8').send(html);
  app.get('/demo/tv', { schema: { hide: true } }, page(pages.tv));
  app.get('/demo/phone', { schema: { hide: true } }, page(pages.phone));

  /** The household's latest order, as the read model has it (it catches up within moments). */
  const latestOrder = async (where: Record<string, string>): Promise<Doc | null> =>
    (await reads.find(ORDERS, { where, orderBy: { field: 'placedAt', direction: 'desc' }, limit: 1 })).items[0] ?? null;

  /** A payment of this household's phone, or a 404 as if it did not exist. */
  const ownPayment = async (paymentId: string): Promise<void> => {
    const p = await reads.get(PAYMENTS, paymentId);
    const o = p && typeof p.orderId === 'string' ? await reads.get(ORDERS, p.orderId) : null;
    if (o?.msisdnKey !== phoneKey) throw new PaymentNotFound(paymentId);
  };

  const hide = { hide: true, tags: ['demo'] };

  app.get('/demo/api/products', { schema: hide }, async () => ({
    products: ledger.catalog.products.map((p) => ({
      productId: p.productId,
      name: p.name,
      description: p.description,
      channels: p.channels,
      price: p.price,
      periodDays: p.periodDays,
    })),
  }));

  app.get('/demo/api/tv', { schema: { ...hide, querystring: z.strictObject({ orderId: z.uuid().optional() }) } }, async (req) => {
    const wanted = req.query.orderId ? await reads.get(ORDERS, req.query.orderId) : null;
    const order = wanted?.smartcardId === home.smartcardId ? wanted : req.query.orderId ? null : await latestOrder({ smartcardId: home.smartcardId });
    const open = await reads.find(ENTITLEMENTS, {
      where: { smartcardId: home.smartcardId },
      range: { field: 'validUntil', gte: ledger.now().toISOString() },
      orderBy: { field: 'validUntil', direction: 'asc' },
      limit: 50,
    });
    return {
      smartcardId: home.smartcardId,
      order: order && orderView(order),
      messages: newestFirst(inbox({ smartcardId: home.smartcardId })),
      entitlements: open.items.map((e) => ({ productId: e.productId, name: e.name, channels: e.channels, validUntil: e.validUntil })),
    };
  });

  app.post(
    '/demo/api/tv/orders',
    {
      schema: {
        ...hide,
        body: z.strictObject({ productId: z.string().min(1).max(64), key: z.string().regex(/^[A-Za-z0-9-]{8,64}$/, '8–64 letters, digits or dashes') }),
      },
    },
    async (req, reply) => {
      const { order, replayed } = await placeOrder(
        ledger,
        { subscriberId: home.subscriberId, smartcardId: home.smartcardId, msisdn, productId: req.body.productId, paymentMethod: 'mobile' },
        req.body.key,
        context(req, TV),
      );
      return reply.code(replayed ? 200 : 201).send({ ...order, msisdn: maskMsisdn(msisdn) });
    },
  );

  app.get('/demo/api/phone', { schema: hide }, async () => {
    const order = await latestOrder({ msisdnKey: phoneKey });
    const payment = order && typeof order.paymentId === 'string' ? await reads.get(PAYMENTS, order.paymentId) : null;
    return {
      msisdn: maskMsisdn(msisdn),
      inbox: newestFirst(inbox({ msisdn: e164(msisdn) })),
      payment: payment && paymentView(payment, order),
    };
  });

  const phoneRoute = { ...hide, params: paymentParams };

  app.post('/demo/api/phone/payments/:paymentId/confirm', { schema: { ...phoneRoute, body: confirmBody } }, async (req) => {
    await ownPayment(req.params.paymentId);
    return confirmPayment(ledger, req.params.paymentId, req.body.code, context(req, PHONE));
  });

  app.post('/demo/api/phone/payments/:paymentId/decline', { schema: phoneRoute }, async (req) => {
    await ownPayment(req.params.paymentId);
    return declinePayment(ledger, req.params.paymentId, context(req, PHONE));
  });

  app.post('/demo/api/phone/payments/:paymentId/resend-code', { schema: phoneRoute }, async (req) => {
    await ownPayment(req.params.paymentId);
    return resendCode(ledger, req.params.paymentId, context(req, PHONE));
  });
};
