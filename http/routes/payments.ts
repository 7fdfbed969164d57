import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { confirmPayment } from '../../commands/confirm-payment.ts';
import { declinePayment } from '../../commands/decline-payment.ts';
import { resendCode } from '../../commands/resend-code.ts';
import { resolvePayment } from '../../commands/resolve-payment.ts';
import type { LedgerDeps } from '../../commands/deps.ts';
import { confirmBody, paymentParams, problem, resolveBody } from '../schemas.ts';
import { contextOf } from './context.ts';

const refusals = { 400: problem, 401: problem, 403: problem, 404: problem, 409: problem, 422: problem, 429: problem };

export const paymentRoutes: FastifyPluginAsyncZod<{ ledger: LedgerDeps }> = async (app, { ledger }) => {
  const phone = { roles: ['phone-app'] as const };

  app.post(
    '/v1/payments/:paymentId/confirm',
    {
      config: phone,
      schema: {
        tags: ['payments'],
        summary: 'Confirm the payment with the one-time code (patent step 3)',
        params: paymentParams,
        body: confirmBody,
        response: { 200: z.object({ paymentId: z.string(), status: z.literal('submitted') }), ...refusals },
      },
    },
    async (req) => confirmPayment(ledger, req.params.paymentId, req.body.code, contextOf(req)),
  );

  app.post(
    '/v1/payments/:paymentId/resend-code',
    {
      // Customer service may resend too, for a subscriber on the line whose code did not arrive.
      config: { roles: ['phone-app', 'customer-service'] },
      schema: {
        tags: ['payments'],
        summary: 'Send a new one-time code by SMS (rate-limited)',
        params: paymentParams,
        response: {
          200: z.object({ paymentId: z.string(), codeExpiresAt: z.string(), resendsLeft: z.number().int() }),
          ...refusals,
        },
      },
    },
    async (req) => resendCode(ledger, req.params.paymentId, contextOf(req)),
  );

  app.post(
    '/v1/payments/:paymentId/decline',
    {
      config: phone,
      schema: {
        tags: ['payments'],
        summary: 'The subscriber refuses the payment; the order is cancelled',
        params: paymentParams,
        response: { 200: z.object({ paymentId: z.string(), status: z.literal('declined') }), ...refusals },
      },
    },
    async (req) => declinePayment(ledger, req.params.paymentId, contextOf(req)),
  );

  app.post(
    '/v1/payments/:paymentId/resolve',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['payments'],
        summary: 'Resolve a payment flagged for an amount mismatch: accept the amount taken (it pays the order) or refund it',
        params: paymentParams,
        body: resolveBody,
        response: {
          200: z.object({ paymentId: z.string(), decision: z.enum(['accept', 'refund']), status: z.enum(['succeeded', 'refunding']) }),
          ...refusals,
        },
      },
    },
    async (req) => {
      const r = await resolvePayment(ledger, req.params.paymentId, req.body.decision, req.body.reason, contextOf(req));
      req.log.info({ paymentId: r.paymentId, decision: r.decision }, 'flagged payment resolved');
      return r;
    },
  );
};
