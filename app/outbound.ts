/** The outbound worker with one action per kind, each given only the ports it uses. */
import type { Logger } from 'pino';
import type { LedgerDeps } from '../commands/deps.ts';
import type { Integrations } from '../integrations/index.ts';
import { bossAction } from '../outbound/actions/boss.ts';
import { callbackAction } from '../outbound/actions/callback.ts';
import { expireAction } from '../outbound/actions/expire.ts';
import { queryAction } from '../outbound/actions/query.ts';
import { refundAction } from '../outbound/actions/refund.ts';
import { smsAction } from '../outbound/actions/sms.ts';
import { tradeAction } from '../outbound/actions/trade.ts';
import type { SmsTemplates } from '../outbound/sms-templates.ts';
import { startOutboundWorker, type OutboundWorker, type WorkerDeps } from '../outbound/worker.ts';
import type { ReadStore } from '../stores/read-store.ts';
import type { Config } from './config.ts';

export type OutboundDeps = {
  config: Pick<Config, 'lanes' | 'breaker' | 'leaseTtlMs' | 'paymentQueryAfterSeconds' | 'paymentQueryDeadlineSeconds' | 'retryBaseMs' | 'retryMaxAttempts'>;
  ledger: LedgerDeps;
  reads: ReadStore;
  integrations: Integrations;
  smsTemplates: SmsTemplates;
  /** Where the payment platform sends its notifications. */
  notifyUrl: string;
  /** Resolves once the named read model holds everything recorded so far. */
  caughtUp: (projection: string, timeoutMs: number) => Promise<void>;
  owner: string;
  logger: Logger;
  onOutcome?: WorkerDeps['onOutcome'];
};

/** Our own timers have no partner: a lane of their own, generous. */
const TIMER_LANE = { concurrency: 8, timeoutMs: 10_000 };

export const startOutbound = ({
  config,
  ledger,
  reads,
  integrations,
  smsTemplates,
  notifyUrl,
  caughtUp,
  owner,
  logger,
  onOutcome,
}: OutboundDeps): OutboundWorker =>
  startOutboundWorker({
    ledger,
    reads,
    actions: {
      expire: expireAction({ ledger }),
      sms: smsAction({ ledger, sms: integrations.sms, templates: smsTemplates }),
      trade: tradeAction({ ledger, platform: integrations.paymentPlatform, notifyUrl, notCreatedGraceSeconds: config.paymentQueryAfterSeconds }),
      query: queryAction({ ledger, platform: integrations.paymentPlatform }),
      refund: refundAction({ ledger, platform: integrations.paymentPlatform }),
      boss: bossAction({ ledger, boss: integrations.boss, reads, entitlementsCaughtUp: () => caughtUp('entitlements', 10_000) }),
      callback: callbackAction({ store: ledger.store, openPlatform: integrations.openPlatform }),
    },
    lanes: { ...config.lanes, timer: TIMER_LANE },
    breaker: { ...config.breaker, maxCooldownMs: config.breaker.cooldownMs * 8 },
    policy: config,
    owner,
    logger,
    leaseTtlMs: config.leaseTtlMs,
    ...(onOutcome && { onOutcome }),
  });
