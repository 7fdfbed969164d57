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
import { money, msisdn, orderParams, paymentParams, problem } from '../schemas.ts';
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
  if ((await q.ledger.store.readStream(w.streamId)).length === 0) throw w.notFound();
  await q.caughtUp(w.projection, 2_000).catch(() => undefined);
  const late = await q.reads.get(w.collection, w.id);
  if (late) return late;
  throw new HttpProblem(503, 'not-yet-visible', 'Not yet visible', 'it was recorded and will show here in a moment; retry', { 'retry-after': '1' });
};

const refusals = { 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 503: problem };
const doc = z.record(z.string(), z.unknown());
const page = z.object({ items: z.array(doc), nextCursor: z.string().nullable() });
const smartcardParams = z.object({ smartcardId: z.string().min(1).max(64).regex(/^[A-Za-z0-9._:-]+$/, "letters, digits, '.', '_', ':' or '-'") });


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

const badCursor = (err: unknown): never => {
  if (err instanceof InvalidQuery) throw new HttpProblem(400, 'bad-cursor', 'Invalid request', 'the cursor does not belong to this query; start again without it');
  throw err;
};

export const queryRoutes: FastifyPluginAsyncZod<Queries> = async (app, q) => {

  app.get(
    '/v1/orders/:orderId',
    {
      config: { roles: ['open-platform', 'customer-service'] },
      schema: { tags: ['orders'], summary: 'The order as the read model has it', params: orderParams, response: { 200: doc, ...refusals } },
    },
    async (req) => {
      const { orderId } = req.params;
      await ensureOwnOrder(q.ledger.store, actorOf(req), orderId);
      return publicView(await readOrWait(q, { collection: ORDERS, projection: 'orders', id: orderId, streamId: orderStream(orderId), notFound: () => new OrderNotFound(orderId) }));
    },
  );

  app.get(
    '/v1/orders',
    {
      config: { roles: ['customer-service'] },
      schema: { tags: ['orders'], summary: 'Search orders, newest first, with cursor pagination', querystring: searchQuery, response: { 200: page, ...refusals } },
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
      return { items: result.items.map(publicView), nextCursor: result.nextCursor };
    },
  );

  app.get(
    '/v1/payments/:paymentId',
    {
      config: { roles: ['phone-app', 'customer-service'] },
      schema: {
        tags: ['payments'],
        summary: 'What the phone shows before confirming: product, amount, status',
        params: paymentParams,
        response: {
          200: z.object({
            paymentId: z.string(),
            orderId: z.string(),
            status: z.string(),
            subject: z.string(),
            amount: money,
            msisdn: z.string().describe('masked'),
            payBy: z.string(),
            codeExpiresAt: z.string(),
            attemptsLeft: z.number().int(),
            resendsLeft: z.number().int(),
            product: z.unknown().optional(),
          }).loose(),
          ...refusals,
        },
      },
    },
    async (req) => {
      const { paymentId } = req.params;
      const p = await readOrWait(q, { collection: PAYMENTS, projection: 'orders', id: paymentId, streamId: paymentStream(paymentId), notFound: () => new PaymentNotFound(paymentId) });
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
        tags: ['entitlements'],
        summary: 'Channels open on the card now (or, with ?at=, at that instant, answered from the event log), with validUntil',
        params: smartcardParams,
        querystring: z.strictObject({ at: z.iso.datetime({ offset: true }).optional().describe('ISO 8601 instant: the entitlements as the log had them then') }),
        response: {
          200: z.object({
            smartcardId: z.string(),
            at: z.string().optional(),
            entitlements: z.array(
              z.object({ productId: z.string(), name: z.string(), channels: z.array(z.string()), validFrom: z.string(), validUntil: z.string() }),
            ),
          }),
          ...refusals,
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
  const listOutbound = async (query: { kind?: TaskKind | undefined; status?: string | undefined; orderId?: string | undefined; limit: number; cursor?: string | undefined }) => {
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

  app.get(
    '/v1/outbound',
    {
      config: { roles: ['customer-service', 'admin'] },
      schema: {
        tags: ['provisioning'],
        summary: 'All outbound work: SMS, trades, queries, BOSS requests, refunds, callbacks, expiry timers',
        querystring: outboundQuery(),
        response: { 200: page, ...refusals },
      },
    },
    async (req) => listOutbound(req.query),
  );

  app.get(
    '/v1/provisioning',
    {
      config: { roles: ['customer-service'] },
      schema: {
        tags: ['provisioning'],
        summary: 'BOSS sync tasks (GET /v1/outbound with kind=boss by default)',
        querystring: outboundQuery('boss'),
        response: { 200: page, ...refusals },
      },
    },
    async (req) => listOutbound(req.query),
  );

  app.post(
    '/v1/orders/:orderId/reprovision',
    {
      config: { roles: ['customer-service'] },
      schema: {
        tags: ['provisioning'],
        summary: 'Re-send the entitlement to BOSS (paid or provisioned orders)',
        params: orderParams,
        response: { 202: z.object({ orderId: z.string(), requestNo: z.number().int(), status: z.literal('requested') }), ...refusals },
      },
    },
    async (req, reply) => reply.code(202).send(await reprovisionOrder(q.ledger, req.params.orderId, contextOf(req))),
  );
};
