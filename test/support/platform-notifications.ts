/**
 * With the in-process platform's notifications dropped (`dropNotifications`), the test speaks for the
 * platform: it waits for the trade to settle and sends the notification about it itself.
 */
import type { LightMyRequestResponse } from 'fastify';
import type { SimTrade } from '../../integrations/simulators/payment-platform.ts';
import { eventually, platformSim } from '../flow/support.ts';
import type { TestLedger } from './ledger-app.ts';

/** The payment's trade, once the platform has settled it as paid. */
export const settledTrade = (t: TestLedger, paymentId: string): Promise<SimTrade> =>
  eventually(
    t,
    async () =>
      platformSim(t)
        .trades()
        .find((x) => x.outTradeNo === paymentId && x.status === 'SUCCESS'),
    'the platform to settle',
  );

/** A signed notification about the trade, with the amount the platform reports unless `body` says another. */
export const notifyAbout = (
  t: TestLedger,
  trade: SimTrade,
  body: { notificationId: string; status: 'SUCCESS' | 'FAILED' } & Record<string, unknown>,
): Promise<LightMyRequestResponse> => t.notify({ tradeNo: trade.tradeNo, outTradeNo: trade.outTradeNo, amount: trade.amount, ...body });
