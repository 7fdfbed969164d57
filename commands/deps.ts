import type { Catalog } from '../domain/catalog.ts';
import type { NewEvent } from '../stores/event-store.ts';
import type { CommandDeps } from './execute.ts';
import type { PersonalData } from '../domain/personal-data.ts';
import type { OneTimeCodes } from './one-time-code.ts';

/** What the command handlers need: the store and clock, plus the ledger's rules of the house. */
export type LedgerDeps = CommandDeps & {
  catalog: Catalog;
  /** Seals phone numbers with each subscriber's key before they reach an event; opens them where a role needs them. */
  personalData: PersonalData;
  /** Derives and checks one-time codes; its secret stays inside. */
  codes: OneTimeCodes;
  orderTtlSeconds: number;
  codeTtlSeconds: number;
  /**
   * Whether the SMS with the payment's code `seq` reached the gateway (outbound work, which commands
   * do not see directly); a code never delivered may be replaced at once. Default: delivered.
   */
  codeDelivered?: (paymentId: string, seq: number) => Promise<boolean>;
  /** Partner timestamps further than this from our clock are reported (onClockSkew); they never schedule anything. */
  partnerClockSkewSeconds?: number;
  onClockSkew?: (report: { partner: 'payment-platform'; paymentId: string; source: string; skewSeconds: number }) => void;
  /** A follow-up run inline failed after its command applied; the process reactor will retry it. */
  onFollowUpFailed?: (event: NewEvent, err: unknown) => void;
};
