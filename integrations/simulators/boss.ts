/**
 * The BOSS simulator's core: implements Boss in-process and backs the HTTP simulator.
 * Invariants: openEntitlement is idempotent by requestId (the same bossRef, even if the card was put
 * on the refusal list since); a card on `refuseSmartcards` (or any card under `refuseAll`) gets a
 * final 422; every call is counted, including the ones that failed by injected fault.
 */
import { randomUUID } from 'node:crypto';
import type { Boss, OpenEntitlementRequest } from '../ports.ts';
import { createFaultState, defaultCommonFaults, simError, type CommonFaults } from './faults.ts';

export type BossFaults = CommonFaults & {
  /** Cards BOSS refuses for good (422: unknown card, card not paired). */
  refuseSmartcards: string[];
  refuseAll: boolean;
  /** Cards whose requests answer 409 (the card is busy with another operation): retried, never refused. */
  busySmartcards: string[];
};

export const defaultBossFaults: BossFaults = { ...defaultCommonFaults, refuseSmartcards: [], refuseAll: false, busySmartcards: [] };

export type BossSimulatorOptions = { faults?: Partial<BossFaults>; now?: () => Date };

export type SimEntitlement = OpenEntitlementRequest & {
  bossRef: string;
  status: 'ACTIVE' | 'REVOKED';
  createdAt: string;
  revokedAt?: string;
  revokeReason?: string;
};

export type BossInspection = {
  entitlements: SimEntitlement[];
  /** Entitlements created, one per distinct requestId. */
  distinctRequestIds: number;
  /** POST /entitlements calls received, including replays, refusals and injected failures. */
  calls: number;
  /** Calls answered 422. */
  refusals: number;
  revokeCalls: number;
  /** Calls arrived and not answered yet, per operation. */
  inFlight: Record<string, number>;
};

export type BossSimulator = Boss & {
  inspect(): BossInspection;
  faults(): BossFaults;
  setFaults(patch: unknown): BossFaults;
  close(): void;
};

const SYSTEM = 'boss';

export function createBossSimulator(o: BossSimulatorOptions = {}): BossSimulator {
  const now = o.now ?? (() => new Date());
  const shutdown = new AbortController();
  const faults = createFaultState(SYSTEM, { ...defaultBossFaults, ...o.faults }, shutdown.signal);
  const byRequestId = new Map<string, SimEntitlement>();
  const byBossRef = new Map<string, SimEntitlement>();
  let calls = 0;
  let refusals = 0;
  let revokeCalls = 0;

  return {
    async openEntitlement(req) {
      const op = 'POST /entitlements';
      calls++;
      return faults.run(op, () => {
        const existing = byRequestId.get(req.requestId);
        if (existing) return { bossRef: existing.bossRef, status: 'ACTIVE' as const };
        const f = faults.get();
        if (f.busySmartcards.includes(req.smartcardId)) throw simError(SYSTEM, op, 409, 'the card is busy with another operation');
        if (f.refuseAll || f.refuseSmartcards.includes(req.smartcardId)) {
          refusals++;
          throw simError(SYSTEM, op, 422, 'unknown card or card not paired');
        }
        const e: SimEntitlement = {
          ...req,
          channels: [...req.channels],
          bossRef: `B${randomUUID().replaceAll('-', '').slice(0, 20)}`,
          status: 'ACTIVE',
          createdAt: now().toISOString(),
        };
        byRequestId.set(req.requestId, e);
        byBossRef.set(e.bossRef, e);
        return { bossRef: e.bossRef, status: 'ACTIVE' as const };
      });
    },

    async revoke(bossRef, req) {
      const op = 'POST /entitlements/{bossRef}/revoke';
      revokeCalls++;
      await faults.enter(op);
      const e = byBossRef.get(bossRef);
      if (!e) throw simError(SYSTEM, op, 404, 'unknown bossRef');
      if (e.status === 'REVOKED') return; // idempotent
      e.status = 'REVOKED';
      e.revokedAt = now().toISOString();
      e.revokeReason = req.reason;
    },

    inspect: () => ({
      entitlements: [...byRequestId.values()].map((e) => structuredClone(e)),
      distinctRequestIds: byRequestId.size,
      calls,
      refusals,
      revokeCalls,
      inFlight: faults.inFlight(),
    }),
    faults: () => faults.get(),
    setFaults: (patch) => faults.set(patch),
    close: () => shutdown.abort(),
  };
}
