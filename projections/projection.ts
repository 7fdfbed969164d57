/** What a projection is: a read model (or a reactor) named by its collections and its handler of one event. */
import type { RecordedEvent } from '../stores/event-store.ts';
import type { CollectionSpec, Doc, Page, Query, WriteOp } from '../stores/read-store.ts';

/** What a handler may read: the projection's own documents, as committed up to the previous event. */
export type ReadView = {
  get(collection: string, id: string): Promise<Doc | null>;
  find(collection: string, query: Query): Promise<Page>;
};

export type Projection = {
  name: string;
  collections: readonly CollectionSpec[];
  /** The writes for one event. May read the projection's own documents (committed up to the previous event). */
  handle(event: RecordedEvent, view: ReadView): Promise<readonly WriteOp[]>;
};
