/**
 * The double-entry journal as a read model: the entries domain/accounts.ts makes from each order and
 * payment event, one document per entry (ids derived from the event, so a replay rewrites the same
 * documents), and the books of each order between events. Recognition entries a refund takes back
 * (days not reached yet) are deleted in the same commit as the refund's entry.
 */
import { readOrderEvent } from '../domain/order/order.ts';
import { readPaymentEvent } from '../domain/payment/payment.ts';
import { z } from 'zod';
import { journalStep, orderIdOf, type JournalEntry, type OrderBook } from '../domain/accounts.ts';
import type { Doc, WriteOp } from '../stores/read-store.ts';
import type { Projection } from './projection.ts';

export const JOURNAL_ENTRIES = 'journal_entries';
const JOURNAL_BOOKS = 'journal_books';

/** What the journal keeps of each order between events, as stored. */
const storedBook = z.object({
  paymentId: z.string(),
  kept: z.number().int(),
  held: z.number().int(),
  dueKept: z.number().int(),
  dueHeld: z.number().int(),
  schedule: z.array(z.object({ day: z.string(), fen: z.number().int() })),
});

const bookOf = (doc: Doc | null): OrderBook | undefined => (doc ? { orderId: doc.id, ...storedBook.parse(doc) } : undefined);

/** An entry as stored: the entry itself, plus its accounts for filtering. */
export const entryDoc = (e: JournalEntry): Doc => ({ ...e, accounts: [...new Set(e.lines.map((l) => l.account))] });

export const journalProjection = (): Projection => ({
  name: 'journal',
  collections: [
    // Queried by day (a range), with kind, orderId or paymentId as filters: each index costs every entry a write.
    { name: JOURNAL_ENTRIES, indexes: ['day', 'kind', 'orderId', 'paymentId'] },
    { name: JOURNAL_BOOKS, indexes: [] },
  ],
  handle: async (event, view) => {
    const e = readOrderEvent(event) ?? readPaymentEvent(event);
    const orderId = e && orderIdOf(e);
    if (!e || !orderId) return [];
    const before = bookOf(await view.get(JOURNAL_BOOKS, orderId));
    const step = journalStep(before, e, event.id);
    const ops: WriteOp[] = [
      ...step.cancelled.map((id): WriteOp => ({ kind: 'delete', collection: JOURNAL_ENTRIES, id })),
      ...step.entries.map((entry): WriteOp => ({ kind: 'upsert', collection: JOURNAL_ENTRIES, doc: entryDoc(entry) })),
    ];
    if (step.book && step.book !== before) {
      const { orderId: id, ...rest } = step.book;
      ops.push({ kind: 'upsert', collection: JOURNAL_BOOKS, doc: { id, ...rest } });
    }
    return ops;
  },
});
