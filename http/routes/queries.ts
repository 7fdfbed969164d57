/** The read side: orders, payments, entitlements, provisioning, from the read models. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LedgerDeps } from '../../commands/deps.ts';
import { normalizeMsisdn } from '../../domain/msisdn.ts';
import { reprovisionOrder } from '../../commands/reprovision-order.ts';
import { OrderNotFound, PaymentNotFound } from '../../domain/errors.ts';
import { ORDER_STATUSES, orderStream } from '../../domain/order/order.ts';
import { paymentStream } from '../../domain/payment/payment.ts';
import { ENTITLEMENTS } from '../../projections/entitlements.ts';
import { ORDERS, PAYMENTS, storedPayment } from '../../projections/orders.ts';
import { OUTBOUND_TASKS, queuedTask } from '../../outbound/queue.ts';
import { TASK_KINDS, nextTryAt, type TaskKind } from '../../outbound/task.ts';
import { InvalidQuery, type Doc, type ReadStore, type Scalar } from '../../stores/read-store.ts';
import { actorOf } from '../auth.ts';
import { entitlementsAt } from '../entitlements-at.ts';
import { ensureOwnOrder } from '../isolation.ts';
import { HttpProblem } from '../problem.ts';
import { instant, money, msisdn, orderPage, orderParams, orderView, paymentParams, refusals } from '../schemas.ts';
import { contextOf } from './context.ts';

export type Queries = {
  reads: ReadStore;
  ledger: LedgerDeps;
  /** Digest used by the orders read model to find orders by phone number. */
  msisdnKey: (msisdn: string) => string;
  /** Resolves once the named read model has caught up with the log as it is now (bounded). */
  caughtUp: (projection: string, timeoutMs: number) => Promise<void>;
};

/**
 * Read-your-writes for a document the caller just created: when the read model does not
 * have it yet but the event store does, wait briefly for the projection; if it is still
 * behind, say so (503, retry) rather than claim it does not exist.
 */
type Wanted = {
  /** Where the read model keeps it, and which projection writes it. */
  collection: string;
  projection: string;
  id: string;
  /** The stream that proves it exists. */
  streamId: string;
  notFound: () => Error;
};

const readOrWait = async (q: Queries, w: Wanted): Promise<Doc> => {
  const found = await q.reads.get(w.collection, w.id);
  if (found) return found;
  if ((await q.ledger.store.readStream(w.streamId, { limit: 1 })).length === 0) throw w.notFound();
  await q.caughtUp(w.projection, 2_000).catch(() => undefined);
  const late = await q.reads.get(w.collection, w.id);
  if (late) return late;
  throw new HttpProblem(503, 'not-yet-visible', 'Not yet visible', 'it was recorded and will show here in a moment; retry', { 'retry-after': '1' });
};

const outboundTask = z
  .object({
    taskId: z.string(),
    kind: z.enum(TASK_KINDS),
    orderId: z.string(),
    paymentId: z.string(),
    template: z.string().optional().describe('sms: which message'),
    requestNo: z.number().int().describe('boss: the request number; a code SMS: the code’s sequence number'),
    status: z.enum(['pending', 'failed', 'done']),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    giveUpReason: z.string().nullable(),
    nextAttemptAt: instant.nullable(),
    claimedBy: z.string().nullable(),
    createdAt: instant,
    finishedAt: instant.nullable(),
    outcome: z.string().nullable(),
  })
  .meta({
    id: 'OutboundTask',
    description: 'One piece of outbound work: an SMS, a trade, a query, a BOSS request, a refund, a callback or an expiry timer.',
    example: {
      taskId: 'boss-3f6c1f0e-0',
      kind: 'boss',
      orderId: '3f6c1f0e-8d2a-4c57-9a51-2f1d0b7e9c44',
      paymentId: '9b2d7c31-4e8f-4a0b-8f6e-1c2d3e4f5a6b',
      requestNo: 0,
      status: 'pending',
      attempts: 2,
      lastError: 'BOSS answered 503',
      giveUpReason: null,
      nextAttemptAt: '2026-11-25T08:03:00.000Z',
      claimedBy: null,
      createdAt: '2026-11-25T08:02:11.000Z',
      finishedAt: null,
      outcome: null,
    },
  });
const outboundPage = z
  .object({ items: z.array(outboundTask), nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last') })
  .meta({ id: 'OutboundTaskPage' });
const smartcardParams = z.object({
  smartcardId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._:-]+$/, "letters, digits, '.', '_', ':' or '-'"),
});

const searchQuery = z
  .strictObject({
    subscriberId: z.string().min(1).max(64).optional(),
    smartcardId: z.string().min(1).max(64).optional(),
    msisdn: msisdn.optional(),
    status: z.enum(ORDER_STATUSES).optional(),
    placedFrom: z.iso.datetime({ offset: true }).optional(),
    placedTo: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().min(1).max(512).optional(),
  })
  .refine((q) => !q.placedFrom || !q.placedTo || Date.parse(q.placedFrom) < Date.parse(q.placedTo), {
    message: 'placedFrom must be before placedTo',
    path: ['placedFrom'],
  });

/** Strips the read models' internal fields. */
const publicView = ({ msisdnKey: _k, version: _v, ...rest }: Doc): Doc => rest;

/** An order document as the API shows it (a malformed one is a read-model bug: it throws). */
const orderOf = (d: Doc) => orderView.parse(publicView(d));

const badCursor = (err: unknown): never => {
  if (err instanceof InvalidQuery)
    throw new HttpProblem(400, 'bad-cursor', 'Invalid request', 'the cursor does not belong to this query; start again without it');
  throw err;
};

export const queryRoutes: FastifyPluginAsyncZod<Queries> = async (app, q) => {
  app.get(
    '/v1/orders/:orderId',
    {
      config: { roles: ['open-platform', 'customer-service'] },
      schema: {
        operationId: 'getOrder',
        tags: ['orders'],
        summary: 'The order as the read model has it',
        description: 'Read-your-writes: an order just placed but not yet in the read model is 503 with `Retry-After`, never 404.',
        params: orderParams,
        response: { 200: orderView, ...refusals(404, 503) },
      },
    },
    async (req) => {
      const { orderId } = req.params;
      await ensureOwnOrder(q.ledger.store, actorOf(req), orderId);
      return orderOf(
        await readOrWait(q, {
          collection: ORDERS,
          projection: 'orders',
          id: orderId,
          streamId: orderStream(orderId),
          notFound: () => new OrderNotFound(orderId),
        }),
      );
    },
  );

  app.get(
    '/v1/orders',
    {
      config: { roles: ['customer-service'] },
      schema: {
        operationId: 'searchOrders',
        tags: ['orders'],
        summary: 'Search orders, newest first, with cursor pagination',
        description: 'A cursor from another query is 400 `bad-cursor`.',
        querystring: searchQuery,
        response: { 200: orderPage },
      },
    },
    async (req) => {
      const { subscriberId, smartcardId, msisdn: phone, status, placedFrom, placedTo, limit, cursor } = req.query;
      const where: Record<string, Scalar> = {};
      if (subscriberId) where.subscriberId = subscriberId;
      if (smartcardId) where.smartcardId = smartcardId;
      if (status) where.status = status;
      if (phone) where.msisdnKey = q.msisdnKey(normalizeMsisdn(phone) ?? phone);
      const result = await q.reads
        .find(ORDERS, {
          where,
          ...((placedFrom || placedTo) && {
            range: {
              field: 'placedAt',
              ...(placedFrom && { gte: new Date(placedFrom).toISOString() }),
              ...(placedTo && { lt: new Date(placedTo).toISOString() }),
            },
          }),
          orderBy: { field: 'placedAt', direction: 'desc' },
          limit,
          ...(cursor && { cursor }),
        })
        .catch(badCursor);
      return { items: result.items.map(orderOf), nextCursor: result.nextCursor };
    },
  );

  app.get(
    '/v1/payments/:paymentId',
    {
      config: { roles: ['phone-app', 'customer-service'] },
      schema: {
        operationId: 'getPayment',
        tags: ['payments'],
        summary: 'What the phone shows before confirming: product, amount, status',
        description: 'Read-your-writes as for orders: 503 with `Retry-After` while the read model catches up.',
        params: paymentParams,
        response: {
          200: z
            .object({
              paymentId: z.string(),
              orderId: z.string(),
              status: z.string(),
              subject: z.string(),
              amount: money,
              msisdn: z.string().describe('masked'),
              payBy: instant,
              codeExpiresAt: instant,
              attemptsLeft: z.number().int(),
              resendsLeft: z.number().int(),
              product: z.unknown().optional().describe('the order’s product (as in Order)'),
            })
            .loose()
            .meta({
              id: 'PaymentView',
              example: {
                paymentId: '9b2d7c31-4e8f-4a0b-8f6e-1c2d3e4f5a6b',
                orderId: '3f6c1f0e-8d2a-4c57-9a51-2f1d0b7e9c44',
                status: 'awaiting_confirmation',
                subject: '体育包 Sports (1 month)',
                amount: { value: 3800, currency: 'CNY' },
                msisdn: '138****8000',
                payBy: '2026-11-25T08:15:00.000Z',
                codeExpiresAt: '2026-11-25T08:05:00.000Z',
                attemptsLeft: 5,
                resendsLeft: 3,
                product: { productId: 'sports-month', name: '体育包 Sports (1 month)' },
              },
            }),
          ...refusals(404, 503),
        },
      },
    },
    async (req) => {
      const { paymentId } = req.params;
      const p = await readOrWait(q, {
        collection: PAYMENTS,
        projection: 'orders',
        id: paymentId,
        streamId: paymentStream(paymentId),
        notFound: () => new PaymentNotFound(paymentId),
      });
      const payment = storedPayment.parse(p);
      const order = await q.reads.get(ORDERS, payment.orderId);
      return { ...publicView(p), ...payment, paymentId: p.id, ...(order && { product: order.product }) };
    },
  );

  app.get(
    '/v1/smartcards/:smartcardId/entitlements',
    {
      config: { roles: ['open-platform', 'customer-service'] },
      schema: {
        operationId: 'getEntitlements',
        tags: ['entitlements'],
        summary: 'Channels open on the card now (or, with ?at=, at that instant, answered from the event log), with validUntil',
        description: 'Without `at`, from the entitlements read model; with it, from the event log, so a past instant is answered as it was.',
        params: smartcardParams,
        querystring: z.strictObject({
          at: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 instant: the entitlements as the log had them then'),
        }),
        response: {
          200: z
            .object({
              smartcardId: z.string(),
              at: instant.optional(),
              entitlements: z.array(
                z.object({ productId: z.string(), name: z.string(), channels: z.array(z.string()), validFrom: instant, validUntil: instant }),
              ),
            })
            .meta({
              id: 'Entitlements',
              example: {
                smartcardId: 'card-8800123',
                entitlements: [
                  {
                    productId: 'sports-month',
                    name: '体育包 Sports (1 month)',
                    channels: ['CCTV-5 HD'],
                    validFrom: '2026-11-25T08:02:12.000Z',
                    validUntil: '2026-12-25T08:02:12.000Z',
                  },
                ],
              },
            }),
        },
      },
    },
    async (req) => {
      if (req.query.at) {
        const at = new Date(req.query.at);
        const found = await entitlementsAt({ store: q.ledger.store, reads: q.reads }, req.params.smartcardId, at);
        return { smartcardId: req.params.smartcardId, at: at.toISOString(), entitlements: found.map(({ grants: _g, ...e }) => e) };
      }
      const now = q.ledger.now().toISOString();
      const found = await q.reads.find(ENTITLEMENTS, {
        where: { smartcardId: req.params.smartcardId },
        range: { field: 'validUntil', gte: now },
        orderBy: { field: 'validUntil', direction: 'asc' },
        limit: 100,
      });
      return {
        smartcardId: req.params.smartcardId,
        entitlements: found.items.map((e) => ({
          productId: String(e.productId),
          name: String(e.name),
          channels: Array.isArray(e.channels) ? e.channels.map(String) : [],
          validFrom: String(e.validFrom),
          validUntil: String(e.validUntil),
        })),
      };
    },
  );

  const outboundQuery = (defaultKind?: TaskKind) =>
    z.strictObject({
      kind: defaultKind ? z.enum(TASK_KINDS).default(defaultKind) : z.enum(TASK_KINDS).optional(),
      status: z.enum(['pending', 'failed', 'done']).optional(),
      orderId: z.uuid().optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().min(1).max(512).optional(),
    });
  const listOutbound = async (query: {
    kind?: TaskKind | undefined;
    status?: string | undefined;
    orderId?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  }) => {
    const { kind, status, orderId, limit, cursor } = query;
    const where: Record<string, Scalar> = {};
    if (kind) where.kind = kind;
    if (status) where.status = status;
    if (orderId) where.orderId = orderId;
    const result = await q.reads
      .find(OUTBOUND_TASKS, { where, orderBy: { field: 'createdAt', direction: 'desc' }, limit, ...(cursor && { cursor }) })
      .catch(badCursor);
    return {
      items: result.items.map((doc) => {
        const { spec, state } = queuedTask(doc);
        return {
          taskId: spec.id,
          kind: spec.kind,
          orderId: spec.orderId,
          paymentId: spec.paymentId,
          ...(spec.template && { template: spec.template }),
          // BOSS: the request number; a code SMS: the code's sequence number.
          requestNo: spec.seq,
          status: state.status,
          attempts: state.attempts,
          lastError: state.status === 'failed' ? state.error : (state.lastError ?? null),
          giveUpReason: state.status === 'failed' ? state.reason : null,
          nextAttemptAt: state.status === 'pending' ? nextTryAt(spec, state) : null,
          claimedBy: state.status === 'pending' && state.claim ? state.claim.worker : null,
          createdAt: spec.createdAt,
          finishedAt: state.status === 'pending' ? null : typeof doc.finishedAt === 'string' ? doc.finishedAt : null,
          outcome: state.status === 'done' ? state.outcome : null,
        };
      }),
      nextCursor: result.nextCursor,
    };
  };

  // One listing under two names: GET /v1/provisioning is GET /v1/outbound with kind=boss unless asked otherwise.
  const listings = [
    {
      url: '/v1/outbound',
      roles: ['customer-service', 'admin'],
      operationId: 'listOutbound',
      summary: 'All outbound work: SMS, trades, queries, BOSS requests, refunds, callbacks, expiry timers',
      description: 'Newest first, with cursor pagination; a cursor from another query is 400 `bad-cursor`.',
      defaultKind: undefined,
    },
    {
      url: '/v1/provisioning',
      roles: ['customer-service'],
      operationId: 'listProvisioning',
      summary: 'BOSS sync tasks (GET /v1/outbound with kind=boss by default)',
      description: 'The same list as GET /v1/outbound, of BOSS tasks unless `kind` says otherwise.',
      defaultKind: 'boss',
    },
  ] as const;
  for (const { url, roles, defaultKind, ...doc } of listings) {
    app.get(
      url,
      { config: { roles: [...roles] }, schema: { ...doc, tags: ['provisioning'], querystring: outboundQuery(defaultKind), response: { 200: outboundPage } } },
      async (req) => listOutbound(req.query),
    );
  }

  app.post(
    '/v1/orders/:orderId/reprovision',
    {
      config: { roles: ['customer-service'] },
      schema: {
        operationId: 'reprovisionOrder',
        tags: ['provisioning'],
        summary: 'Re-send the entitlement to BOSS (paid or provisioned orders)',
        description: 'Accepted: a new BOSS request is queued. 409 unless the order is paid or provisioned.',
        params: orderParams,
        response: { 202: z.object({ orderId: z.string(), requestNo: z.number().int(), status: z.literal('requested') }), ...refusals(404, 409) },
      },
    },
    async (req, reply) => reply.code(202).send(await reprovisionOrder(q.ledger, req.params.orderId, contextOf(req))),
  );
};
