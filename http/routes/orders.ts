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
import { historyEvent, idempotencyHeaders, orderParams, placeOrderBody, placedOrder, problem } from '../schemas.ts';
import { contextOf } from './context.ts';

const refusals = { 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 422: problem };

export const orderRoutes: FastifyPluginAsyncZod<{ ledger: LedgerDeps }> = async (app, { ledger }) => {

  app.post(
    '/v1/orders',
    {
      config: { roles: ['open-platform'] },
      schema: {
        tags: ['orders'],
        summary: 'Place an order paid by phone (patent steps 1–2)',
        headers: idempotencyHeaders,
        body: placeOrderBody,
        response: { 200: placedOrder, 201: placedOrder, ...refusals },
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
        tags: ['orders'],
        summary: 'Cancel an order before it is paid',
        params: orderParams,
        response: { 200: z.object({ orderId: z.string(), status: z.literal('cancelled') }), ...refusals },
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
        tags: ['orders'],
        summary: 'Every event of the order and its payment, from the event store, in order',
        params: orderParams,
        response: { 200: z.object({ orderId: z.string(), events: z.array(historyEvent) }), ...refusals },
      },
    },
    async (req) => {
      const { orderId } = req.params;
      const order = await load(ledger.store, orderAggregate, orderStream(orderId));
      if (order.status === 'none') throw new OrderNotFound(orderId);
      const events = [
        ...(await ledger.store.readStream(orderStream(orderId))),
        ...(await ledger.store.readStream(paymentStream(order.paymentId))),
      ].sort((a, b) => comparePositions(a.position, b.position));
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
