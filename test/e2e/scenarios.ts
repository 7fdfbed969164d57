/** What the end-to-end scenarios do again and again: a fresh subscriber, the code from the SMS, an order's status. */
import { comparePositions as compareStored, parsePosition } from '../../stores/event-store.ts';
import type { OrderBody } from '../support/fixtures.ts';
import { GiveUp, waitUntil } from '../support/wait.ts';
import type { HistoryEvent, Json, LedgerApi } from './http.ts';
import type { SimApi } from './simulators.ts';

/** The one-time code in an SMS: the 6 digits after 验证码. */
export const codeIn = (text: string): string | undefined => /验证码(\d{6})/.exec(text)?.[1];

let seq = 0;
/** A fresh subscriber, card and phone for one order (the phone's last 4 digits vary). */
export const freshOrderBody = (over: Partial<OrderBody> = {}): OrderBody => {
  seq++;
  const n = (process.pid * 1000 + seq) % 100_000_000;
  return {
    subscriberId: `sub-e2e-${process.pid}-${seq}`,
    smartcardId: `8${String(process.pid % 1000).padStart(3, '0')}${String(seq).padStart(12, '0')}`,
    msisdn: `139${String(n).padStart(8, '0')}`,
    productId: 'sports-month',
    paymentMethod: 'mobile',
    ...over,
  };
};

/** Waits for the code SMS to `msisdn` (the newest one) and returns its code. */
export const waitForCode = async (sims: SimApi, msisdn: string, timeoutMs = 15_000): Promise<string> =>
  waitUntil(
    async () => {
      const codes = (await sims.messages({ msisdn })).map((m) => codeIn(m.text)).filter((c): c is string => c !== undefined);
      return codes.at(-1);
    },
    'the code SMS',
    { timeoutMs: timeoutMs },
  );

const FINAL_STATUSES = new Set(['provisioned', 'cancelled', 'expired', 'payment_failed', 'refunded']);

/** Waits until the order's read model shows `status`; fails fast on a different final status. */
export const waitForStatus = async (api: LedgerApi, orderId: string, status: string, timeoutMs = 20_000): Promise<Json> => {
  let last = '';
  return waitUntil(
    async () => {
      const r = await api.order(orderId);
      last = String(r.body.status);
      if (r.status === 200 && last !== status && FINAL_STATUSES.has(last)) throw new GiveUp(`order ${orderId} ended ${last}, expected ${status}`);
      return r.status === 200 && r.body.status === status ? r.body : undefined;
    },
    () => `order status ${status} (last seen: ${last})`,
    { timeoutMs: timeoutMs },
  );
};

/** Orders two history positions ("commit/prepare", as the API prints them): negative when a is earlier. */
export const comparePositions = (a: string, b: string): number => compareStored(parsePosition(a), parsePosition(b));

export const eventTypes = (events: readonly HistoryEvent[]): string[] => events.map((e) => e.type);
export const countOf = (events: readonly HistoryEvent[], type: string): number => events.filter((e) => e.type === type).length;
