/**
 * Rewriting a stored log behind the service's back, as someone with access to the disk could:
 * one byte of one event's data changed, an event deleted, two events swapped. On the embedded
 * store through SQLite itself, on the EventStoreDB stand-in through its log.
 */
import Database from 'better-sqlite3';
import type { LogRecord } from '../support/esdb-standin/log.ts';
import type { EsdbStandIn } from '../support/esdb-standin/server.ts';

export type Tamper = {
  /** Changes one ASCII digit of the event's data to another digit (the JSON stays valid): an amount, if it has one. */
  changeByte(eventId: string): void;
  deleteEvent(eventId: string): void;
  /** The two events exchange places in the global log (each keeps its own content). */
  swap(a: string, b: string): void;
};

const nextDigit = (d: number): number => (d === 0x39 ? 0x30 : d + 1);

/** The first digit of an amount (`"value":3800`), else the first digit at all; never part of a key (keys have none). */
const valueDigitAt = (bytes: Uint8Array): number => {
  const text = Buffer.from(bytes).toString('latin1');
  const amount = text.indexOf('"value":');
  const i = amount >= 0 ? amount + '"value":'.length : text.search(/[0-9]/);
  if (i < 0 || !/[0-9]/.test(text[i] ?? '')) throw new Error('no digit to change in this event');
  return i;
};

export const sqliteTamper = (file: string): Tamper => {
  const withDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(file);
    try {
      return db.transaction(() => fn(db))();
    } finally {
      db.close();
    }
  };
  type Row = { seq: number; id: string; stream_id: string; revision: number; type: string; data: string; metadata: string; recorded_at: number };
  const row = (db: Database.Database, id: string): Row => {
    const r = db.prepare<[string], Row>('SELECT * FROM events WHERE id = ?').get(id);
    if (!r) throw new Error(`no event ${id}`);
    return r;
  };
  const put = (db: Database.Database, seq: number, r: Omit<Row, 'seq'>) =>
    db
      .prepare('UPDATE events SET id = ?, stream_id = ?, revision = ?, type = ?, data = ?, metadata = ?, recorded_at = ? WHERE seq = ?')
      .run(r.id, r.stream_id, r.revision, r.type, r.data, r.metadata, r.recorded_at, seq);
  return {
    changeByte: (id) =>
      withDb((db) => {
        const r = row(db, id);
        const bytes = Buffer.from(r.data, 'utf8');
        const i = valueDigitAt(bytes);
        bytes[i] = nextDigit(bytes[i] ?? 0x30);
        db.prepare('UPDATE events SET data = ? WHERE id = ?').run(bytes.toString('utf8'), id);
      }),
    deleteEvent: (id) => withDb((db) => db.prepare('DELETE FROM events WHERE id = ?').run(id)),
    swap: (a, b) =>
      withDb((db) => {
        const ra = row(db, a);
        const rb = row(db, b);
        // Out of the way first: ids and (stream, revision) are unique.
        put(db, ra.seq, { ...ra, id: `${ra.id}-moving`, stream_id: `${ra.stream_id}-moving` });
        put(db, rb.seq, ra);
        put(db, ra.seq, rb);
      }),
  };
};

export const esdbTamper = (standIn: EsdbStandIn): Tamper => {
  const indexOf = (records: LogRecord[], id: string): number => {
    const i = records.findIndex((r) => r.id === id);
    if (i < 0) throw new Error(`no event ${id}`);
    return i;
  };
  return {
    changeByte: (id) =>
      standIn.rewrite((records) => {
        const r = records[indexOf(records, id)];
        if (!r) throw new Error('unreachable');
        const i = valueDigitAt(r.data);
        r.data[i] = nextDigit(r.data[i] ?? 0x30);
        return records;
      }),
    deleteEvent: (id) => standIn.rewrite((records) => records.filter((r) => r.id !== id)),
    swap: (a, b) =>
      standIn.rewrite((records) => {
        const i = indexOf(records, a);
        const j = indexOf(records, b);
        const ra = records[i];
        const rb = records[j];
        if (!ra || !rb) throw new Error('unreachable');
        // Positions stay where they are (they order $all); the events trade places.
        records[i] = { ...rb, position: ra.position };
        records[j] = { ...ra, position: rb.position };
        return records;
      }),
  };
};
