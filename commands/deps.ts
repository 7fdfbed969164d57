import type { Catalog } from '../domain/catalog.ts';
import type { CommandDeps } from './execute.ts';

/** What the command handlers need: the store and clock, plus the ledger's rules of the house. */
export type LedgerDeps = CommandDeps & {
  catalog: Catalog;
  /** Derives one-time codes; never logged. */
  codeSecret: string;
  orderTtlSeconds: number;
  codeTtlSeconds: number;
};
