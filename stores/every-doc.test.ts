/** everyDoc: a query read to its end, page after page, each page asked with the cursor the previous one gave. */
import { describe, expect, it } from 'vitest';
import { everyDoc, type Doc, type Page, type Query } from './read-store.ts';

const docs = (...ids: string[]): Doc[] => ids.map((id) => ({ id }));

/** A find over fixed pages, keyed by the cursor that asks for each; it records every query it gets. */
const paged = (pages: Record<string, Page>) => {
  const asked: Query[] = [];
  return {
    asked,
    find: async (_collection: string, query: Query): Promise<Page> => {
      asked.push(query);
      const page = pages[query.cursor ?? 'first'];
      if (!page) throw new Error(`no page for cursor ${String(query.cursor)}`);
      return page;
    },
  };
};

const query: Query = { where: { status: 'pending' }, orderBy: { field: 'createdAt', direction: 'asc' }, limit: 2 };

const all = async (it: AsyncIterable<Doc>): Promise<string[]> => {
  const ids: string[] = [];
  for await (const d of it) ids.push(d.id);
  return ids;
};

describe('everyDoc', () => {
  it('yields every document of every page in order, asking each next page with the cursor it was given', async () => {
    const reads = paged({
      first: { items: docs('a', 'b'), nextCursor: 'c1' },
      c1: { items: docs('c', 'd'), nextCursor: 'c2' },
      c2: { items: docs('e'), nextCursor: null },
    });
    expect(await all(everyDoc(reads, 'tasks', query))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(reads.asked).toEqual([query, { ...query, cursor: 'c1' }, { ...query, cursor: 'c2' }]);
  });

  it('one empty page: nothing, and no second query', async () => {
    const reads = paged({ first: { items: [], nextCursor: null } });
    expect(await all(everyDoc(reads, 'tasks', query))).toEqual([]);
    expect(reads.asked).toHaveLength(1);
  });

  it('a reader that stops early asks for no further page', async () => {
    const reads = paged({ first: { items: docs('a', 'b'), nextCursor: 'c1' }, c1: { items: docs('c'), nextCursor: null } });
    for await (const d of everyDoc(reads, 'tasks', query)) if (d.id === 'a') break;
    expect(reads.asked).toHaveLength(1);
  });
});
