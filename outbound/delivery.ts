/** What the rest of the ledger may ask about outbound work, answered from the task streams (the truth). */
import { load } from '../commands/execute.ts';
import type { EventStore } from '../stores/event-store.ts';
import { taskAggregate } from './decide.ts';
import { taskStream } from './task.ts';

/** Whether the SMS with the payment's code `seq` reached the gateway. */
export const codeDelivered =
  (store: EventStore) =>
  async (paymentId: string, seq: number): Promise<boolean> => {
    const task = await load(store, taskAggregate, taskStream(`sms:${paymentId}:code:${seq}`));
    return task.status === 'done' && task.outcome === 'sent';
  };
