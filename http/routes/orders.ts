import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cancelOrder } from '../../commands/cancel-order.ts';
import { orderAggregate } from '../../commands/aggregates.ts';
import { load } from '../../commands/execute.ts';
import { maskMsisdn, normalizeMsisdn } from '../../domain/msisdn.ts';
import { shown } from '../../domain/personal-data.ts';
import { storedMsisdn } from '../../domain/personal-data.ts';
import { placeOrder } from '../../commands/place-order.ts';
import { OrderNotFound } from '../../domain/errors.ts';
import { orderStream } from '../../domain/order/order.ts';
import { paymentStream } from '../../domain/payment/payment.ts';
import { comparePositions, positionToString } from '../../stores/event-store.ts';
import type { LedgerDeps } from '../../commands/deps.ts';
import { actorOf } from '../auth.ts';
import { ensureOwnOrder } from '../isolation.ts';
import { historyEvent, idempotencyHeaders, orderParams, placeOrderBody, placedOrder, refusals } from '../schemas.ts';
import { contextOf } from './context.ts';

/** The open platform's callback (API.md), sent for each outcome of an order placed here, when OPEN_PLATFORM_CALLBACK_URL is set. */
const outcomeCallback = {
  orderOutcome: {
    // The URL is OPEN_PLATFORM_CALLBACK_URL, configured, not taken from the request.
    'https://open-platform.example/OPEN_PLATFORM_CALLBACK_URL': {
      post: {
        summary: 'An order outcome, to OPEN_PLATFORM_CALLBACK_URL',
        description:
          'Sent to OPEN_PLATFORM_CALLBACK_URL (the URL above stands for it). At least once, in any order: dedupe by `callbackId`. ' +
          'Signed: `X-Ledger-Signature: t=<unix seconds>,v1=<hex>`, HMAC-SHA256 with OPEN_PLATFORM_CALLBACK_SECRET over `"<t>.<raw body>"`.',
        operationId: 'orderOutcomeCallback',
        security: [],
        parameters: [
          { name: 'Idempotency-Key', in: 'header', required: true, description: 'the callbackId', schema: { type: 'string' } },
          {
            name: 'X-Ledger-Signature',
            in: 'header',
            required: true,
            description: '`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`',
            schema: { type: 'string', example: 't=1795852800,v1=5d41402abc4b2a76b9719d911017c592' },
          },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/OrderOutcomeCallback' } } } },
        responses: {
          '200': { description: 'Delivered (any 2xx)' },
          '409': { description: 'Retried later, as are 429, 5xx and timeouts; any other 4xx is final' },
        },
      },
    },
  },
};

export const orderRoutes: FastifyPluginAsyncZod<{ ledger: LedgerDeps }> = async (app, { ledger }) => {
  app.post(
    '/v1/orders',
    {
      config: { roles: ['open-platform'] },
      schema: {
        operationId: 'placeOrder',
        tags: ['orders'],
        summary: 'Place an order paid by phone (patent steps 1–2)',
        description:
          'Sends the one-time code to the phone. A retry with the same Idempotency-Key and body answers the same order ' +
          '(200 or 201, `Idempotent-Replayed: true`); the same key with another body is 422 `idempotency-key-reused`.',
        headers: idempotencyHeaders,
        body: placeOrderBody,
        response: { 200: placedOrder.describe('the same order again: a replay'), 201: placedOrder.describe('the order placed'), ...refusals(409, 422) },
        'x-callbacks': outcomeCallback,
      },
    },
    async (req, reply) => {
      const msisdn = normalizeMsisdn(req.body.msisdn);
      if (msisdn === undefined) throw new Error('unreachable: msisdn was validated');
      const { order, replayed } = await placeOrder(ledger, { ...req.body, msisdn }, req.headers['idempotency-key'], contextOf(req));
      req.log.info({ orderId: order.orderId, msisdn: maskMsisdn(msisdn), replayed }, replayed ? 'order replayed' : 'order placed');
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(replayed ? 200 : 201).send(order);
    },
  );

  app.post(
    '/v1/orders/:orderId/cancel',
    {
      config: { roles: ['open-platform', 'customer-service'] },
      schema: {
        operationId: 'cancelOrder',
        tags: ['orders'],
        summary: 'Cancel an order before it is paid',
        description: '409 once the order is paid (or otherwise past cancelling).',
        params: orderParams,
        response: { 200: z.object({ orderId: z.string(), status: z.literal('cancelled') }), ...refusals(404, 409) },
      },
    },
    async (req) => {
      await ensureOwnOrder(ledger.store, actorOf(req), req.params.orderId);
      await cancelOrder(ledger, req.params.orderId, contextOf(req));
      return { orderId: req.params.orderId, status: 'cancelled' as const };
    },
  );

  app.get(
    '/v1/orders/:orderId/history',
    {
      config: { roles: ['customer-service', 'admin'] },
      schema: {
        operationId: 'getOrderHistory',
        tags: ['orders'],
        summary: 'Every event of the order and its payment, from the event store, in order',
        description: 'Customer service sees the phone number masked, an admin whole; both see "erased" once the subscriber is.',
        params: orderParams,
        response: { 200: z.object({ orderId: z.string(), events: z.array(historyEvent) }), ...refusals(404) },
      },
    },
    async (req) => {
      const { orderId } = req.params;
      const order = await load(ledger.store, orderAggregate, orderStream(orderId));
      if (order.status === 'none') throw new OrderNotFound(orderId);
      const events = [...(await ledger.store.readStream(orderStream(orderId))), ...(await ledger.store.readStream(paymentStream(order.paymentId)))].sort(
        (a, b) => comparePositions(a.position, b.position),
      );
      // Customer service sees the number masked; an auditor (admin) sees it whole, opened with the
      // subscriber's key; both see "erased" once the subscriber is.
      const show = actorOf(req).role === 'admin' ? (m: string) => m : maskMsisdn;
      const phone = async (data: Record<string, unknown>): Promise<Record<string, unknown>> => {
        const stored = storedMsisdn(data.msisdn);
        if (stored === undefined) return data;
        return { ...data, msisdn: shown(await ledger.personalData.reveal(stored, order.subscriberId), show) };
      };
      return {
        orderId,
        events: await Promise.all(
          events.map(async (e) => ({
            streamId: e.streamId,
            revision: e.revision,
            position: positionToString(e.position),
            id: e.id,
            type: e.type,
            data: await phone(e.data),
            metadata: e.metadata,
            recordedAt: e.recordedAt.toISOString(),
          })),
        ),
      };
    },
  );
};
