/** The three simulators as one real process (`npm run simulators`, scripts/simulators.ts), and their inspection API. */
import { allSimulatorsArgs } from '../../scripts/simulators.ts';
import { BOSS_TOKEN, PLATFORM_SECRET } from '../support/fixtures.ts';
import { Timeout } from '../support/wait.ts';
import { spawnChild, type Child } from './processes.ts';
import { call, type Json } from './http.ts';

export type SimUrls = { platform: string; boss: string; sms: string };
export type Simulators = { urls: SimUrls; child: Child };

const isSimUrls = (v: unknown): v is SimUrls =>
  typeof v === 'object' &&
  v !== null &&
  'platform' in v &&
  'boss' in v &&
  'sms' in v &&
  typeof v.platform === 'string' &&
  typeof v.boss === 'string' &&
  typeof v.sms === 'string';

/** Starts the three simulators (scripts/simulators.ts --kind all) and reads the one JSON line with their URLs. */
export async function startSimulators(extraArgs: string[] = [], timeoutMs = 30_000): Promise<Simulators> {
  const child = spawnChild('sims', [...allSimulatorsArgs(PLATFORM_SECRET, BOSS_TOKEN), ...extraArgs], {});
  return { urls: await simulatorUrls(child, timeoutMs), child };
}

/** Reads the one JSON line with their URLs that scripts/simulators.ts prints once listening; kills the child on failure. */
export async function simulatorUrls(child: Child, timeoutMs = 30_000): Promise<SimUrls> {
  return new Promise<SimUrls>((resolveUrls, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Timeout(`simulators did not print their URLs within ${timeoutMs} ms\n${child.output()}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      child.proc.stdout?.off('data', onData);
      clearTimeout(timer);
      try {
        const parsed: unknown = JSON.parse(buffered.slice(0, nl));
        if (isSimUrls(parsed)) resolveUrls(parsed);
        else reject(new Error(`simulators printed an unexpected line: ${buffered.slice(0, nl)}`));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    child.proc.stdout?.on('data', onData);
    void child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`simulators exited early (code ${code}, signal ${signal})\n${child.output()}`));
    });
  }).catch(async (err: unknown) => {
    await child.kill();
    throw err;
  });
}

export type SmsMessage = { messageId: string; to: { msisdn?: string; smartcardId?: string }; text: string; receivedAt: string; duplicates: number };
export type SimTrade = { outTradeNo: string; tradeNo: string; status: string; amount: { value: number; currency: string }; msisdn: string };
export type SimRefund = { outTradeNo: string; refundNo: string; amount: { value: number; currency: string }; status: string };
export type SimNotification = {
  notificationId: string;
  outTradeNo: string;
  dropped: boolean;
  held: boolean;
  copies: number;
  attempts: Array<{ copy: number; attempt: number; httpStatus: number | null; accepted: boolean }>;
  delivered: boolean;
  finished: boolean;
};
export type SimCall = { at: string; method: string; path: string; key: string | null; userAgent: string | null; status: number };

export type BossInspection = {
  entitlements: Array<{
    requestId: string;
    smartcardId: string;
    productId: string;
    channels: string[];
    validFrom: string;
    validUntil: string;
    bossRef: string;
    status: string;
  }>;
  distinctRequestIds: number;
  calls: number;
  refusals: number;
};

/** The simulators' inspection and fault endpoints (/_sim/…). */
export const simApi = (urls: SimUrls) => ({
  messages: async (filter: { msisdn?: string; smartcardId?: string } = {}) =>
    (await call<{ messages: SmsMessage[] }>('GET', `${urls.sms}/_sim/messages?${new URLSearchParams(filter)}`)).body.messages,
  trades: async () => (await call<SimTrade[]>('GET', `${urls.platform}/_sim/trades`)).body,
  refunds: async () => (await call<SimRefund[]>('GET', `${urls.platform}/_sim/refunds`)).body,
  notifications: async () => (await call<SimNotification[]>('GET', `${urls.platform}/_sim/notifications`)).body,
  boss: async () => (await call<BossInspection>('GET', `${urls.boss}/_sim/entitlements`)).body,
  /** Every API call the partner received, with its Idempotency-Key and the caller's User-Agent (its pid). */
  calls: async (kind: keyof SimUrls) => (await call<SimCall[]>('GET', `${urls[kind]}/_sim/calls`)).body,
  faults: async (kind: keyof SimUrls, patch: Json) => {
    const r = await call<Json>('POST', `${urls[kind]}/_sim/faults`, { body: patch });
    if (r.status !== 200) throw new Error(`POST ${kind} /_sim/faults ${JSON.stringify(patch)}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  },
});

export type SimApi = ReturnType<typeof simApi>;
