import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { confirmPayment } from '../../commands/confirm-payment.ts';
import { declinePayment } from '../../commands/decline-payment.ts';
import { resendCode } from '../../commands/resend-code.ts';
import { resolvePayment } from '../../commands/resolve-payment.ts';
import type { LedgerDeps } from '../../commands/deps.ts';
import { confirmBody, instant, paymentParams, refusals, resolveBody } from '../schemas.ts';
import { contextOf } from './context.ts';

export const paymentRoutes: FastifyPluginAsyncZod<{ ledger: LedgerDeps }> = async (app, { ledger }) => {
  const phone = { roles: ['phone-app'] as const };

  app.post(
    '/v1/payments/:paymentId/confirm',
    {
      config: phone,
      schema: {
        operationId: 'confirmPayment',
        tags: ['payments'],
        summary: 'Confirm the payment with the one-time code (patent step 3)',
        description:
          'A wrong or expired code is 422 (the problem says how many attempts are left); after 5 wrong codes the payment fails and the order is cancelled. ' +
          'Already confirmed, or the order no longer payable: 409.',
        params: paymentParams,
        body: confirmBody,
        response: { 200: z.object({ paymentId: z.string(), status: z.literal('submitted') }), ...refusals(404, 409, 422) },
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
        operationId: 'resendCode',
        tags: ['payments'],
        summary: 'Send a new one-time code by SMS (rate-limited)',
        description: 'A limited number of resends per payment, spaced apart: 429 with `Retry-After` when asked too soon or too often.',
        params: paymentParams,
        response: {
          200: z.object({ paymentId: z.string(), codeExpiresAt: instant, resendsLeft: z.number().int() }),
          ...refusals(404, 409, 429),
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
        operationId: 'declinePayment',
        tags: ['payments'],
        summary: 'The subscriber refuses the payment; the order is cancelled',
        description: '409 once the payment was confirmed or closed.',
        params: paymentParams,
        response: { 200: z.object({ paymentId: z.string(), status: z.literal('declined') }), ...refusals(404, 409) },
      },
    },
    async (req) => declinePayment(ledger, req.params.paymentId, contextOf(req)),
  );

  app.post(
    '/v1/payments/:paymentId/resolve',
    {
      config: { roles: ['admin'] },
      schema: {
        operationId: 'resolvePayment',
        tags: ['payments'],
        summary: 'Resolve a payment flagged for an amount mismatch: accept the amount taken (it pays the order) or refund it',
        description: '409 unless the payment is flagged for review.',
        params: paymentParams,
        body: resolveBody,
        response: {
          200: z.object({ paymentId: z.string(), decision: z.enum(['accept', 'refund']), status: z.enum(['succeeded', 'refunding']) }),
          ...refusals(404, 409),
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
