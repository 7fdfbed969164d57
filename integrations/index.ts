/**
 * Builds the partners' ports from plain configuration (the composition root reads the environment and
 * passes it here): an HTTP client where a URL is configured, an in-process simulator otherwise; and the
 * open platform's callback client where its URL is configured (no callbacks otherwise).
 */
import { createBossClient } from './boss-client.ts';
import { createOpenPlatformClient } from './open-platform-client.ts';
import { createPaymentPlatformClient } from './payment-platform-client.ts';
import type { Boss, OpenPlatform, PaymentPlatform, SmsGateway } from './ports.ts';
import { createSmsClient } from './sms-client.ts';
import { createBossSimulator, type BossSimulator, type BossSimulatorOptions } from './simulators/boss.ts';
import { createPlatformSimulator, type PlatformSimulator, type PlatformSimulatorOptions } from './simulators/payment-platform.ts';
import { createSmsSimulator, type SmsSimulator, type SmsSimulatorOptions } from './simulators/sms.ts';

export type IntegrationsConfig = {
  /** PAYMENT_PLATFORM_SECRET: signs our requests, verifies notifications; the simulator signs with it too. */
  paymentPlatformSecret: string;
  paymentPlatformUrl?: string;
  bossUrl?: string;
  bossToken?: string;
  smsGatewayUrl?: string;
  /** OPEN_PLATFORM_CALLBACK_URL and its signing secret; absent: no callbacks (the open platform polls). */
  openPlatformCallback?: { url: string; secret: string };
  /** Per-request timeout of each system's HTTP client (each partner its own); default 5000 ms. */
  timeouts?: { platform?: number; boss?: number; sms?: number; callback?: number };
  /** Extra options for the in-process simulators (ignored where a URL is configured). */
  simulators?: {
    platform?: Omit<PlatformSimulatorOptions, 'secrets'>;
    boss?: BossSimulatorOptions;
    sms?: SmsSimulatorOptions;
  };
};

export type Integrations = {
  paymentPlatform: PaymentPlatform;
  boss: Boss;
  sms: SmsGateway;
  /** The open platform's order-result callback; undefined when OPEN_PLATFORM_CALLBACK_URL is unset. */
  openPlatform: OpenPlatform | undefined;
  /** The in-process simulators in use, for demos and tests; absent where a real URL is configured. */
  simulated: { platform?: PlatformSimulator; boss?: BossSimulator; sms?: SmsSimulator };
  /** Stops the in-process simulators' background work (notification deliveries). */
  close(): void;
};

export function createIntegrations(c: IntegrationsConfig): Integrations {
  const timeout = (ms: number | undefined) => (ms === undefined ? {} : { timeoutMs: ms });
  const simulated: Integrations['simulated'] = {};

  let paymentPlatform: PaymentPlatform;
  if (c.paymentPlatformUrl)
    paymentPlatform = createPaymentPlatformClient({ baseUrl: c.paymentPlatformUrl, secret: c.paymentPlatformSecret, ...timeout(c.timeouts?.platform) });
  else paymentPlatform = simulated.platform = createPlatformSimulator({ ...c.simulators?.platform, secrets: [c.paymentPlatformSecret] });

  let boss: Boss;
  if (c.bossUrl) {
    if (!c.bossToken) throw new Error('BOSS_TOKEN is required when BOSS_URL is set');
    boss = createBossClient({ baseUrl: c.bossUrl, token: c.bossToken, ...timeout(c.timeouts?.boss) });
  } else boss = simulated.boss = createBossSimulator(c.simulators?.boss);

  let sms: SmsGateway;
  if (c.smsGatewayUrl) sms = createSmsClient({ baseUrl: c.smsGatewayUrl, ...timeout(c.timeouts?.sms) });
  else sms = simulated.sms = createSmsSimulator(c.simulators?.sms);

  const openPlatform = c.openPlatformCallback && createOpenPlatformClient({ ...c.openPlatformCallback, ...timeout(c.timeouts?.callback) });

  return {
    paymentPlatform,
    boss,
    sms,
    openPlatform,
    simulated,
    close() {
      simulated.platform?.close();
      simulated.boss?.close();
      simulated.sms?.close();
    },
  };
}

export { OutboundError, isRetryable, kindForStatus } from './ports.ts';
export type * from './ports.ts';
export { sign, verify, SIGNATURE_HEADER, DEFAULT_TOLERANCE_SECONDS, type VerifyResult } from './signature.ts';
