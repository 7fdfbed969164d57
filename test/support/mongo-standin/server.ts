/**
 * An in-process MongoDB stand-in for tests: a node:net server on 127.0.0.1 that speaks the wire
 * protocol to the real `mongodb` driver and implements only the commands the read store sends.
 *
 * - `replicaSet: false`: answers `hello` as a standalone and refuses transactions and txnNumbers
 *   (IllegalOperation, as a real standalone does);
 * - `replicaSet: true`: answers as the primary of a one-member replica set `rs0` and runs
 *   transactions: writes are staged per session (lsid + txnNumber) and applied at commitTransaction.
 *   Conflicts are first-writer-wins: a transaction that writes a document written after it started,
 *   or staged by another open transaction, fails with WriteConflict + TransientTransactionError
 *   (withTransaction retries), and an open transaction whose staged document is overwritten by a
 *   plain write is aborted. Reads in a transaction see committed data plus its own staged writes
 *   (not a point-in-time snapshot).
 * - `configureFailPoint: 'failCommand'` works like the server's test command (times, failCommands,
 *   errorCode, errorLabels, closeConnection), plus `namespace` to pick one collection.
 * Unsupported commands, operators or options answer an error: nothing is silently ignored.
 */
import { createServer, type Socket } from 'node:net';
import { Binary, Long, ObjectId } from 'mongodb';
import { applyUpdate, clone, CommandError, idKey, isPlainObject, matches, sortDocs, upsertSeed, valuesEqual, type Bson } from './values.ts';
import { encodeReply, OP_QUERY, parseRequest, takeMessages, type Request } from './wire.ts';

export type StandinOptions = { replicaSet?: boolean };
export type Standin = {
  /** A connection string for the driver. */
  url: string;
  /** Names of the commands received, in order (handshakes and heartbeats excluded). */
  commands: string[];
  close(): Promise<void>;
};

type Txn = { session: string; txnNumber: number; snapshot: number; staged: Map<string, Map<string, Bson | null>>; doomed: boolean };
type FailPoint = { remaining: number; commands: Set<string>; namespace?: string; errorCode?: number; errorLabels: string[]; closeConnection: boolean };

/** Reads and writes of documents, either straight to the store or staged in a transaction. */
type Access = {
  all(ns: string): Bson[];
  byId(ns: string, key: string): Bson | undefined;
  put(ns: string, key: string, doc: Bson | null): void;
};

const HELLO_NAMES = new Set(['hello', 'ismaster', 'isMaster']);
const QUIET = new Set([...HELLO_NAMES, 'ping', 'buildInfo', 'buildinfo', 'endSessions']);

export async function startMongoStandin(options: StandinOptions = {}): Promise<Standin> {
  const replicaSet = options.replicaSet === true;
  const data = new Map<string, Map<string, Bson>>();
  const indexes = new Map<string, Bson[]>();
  const lastWrite = new Map<string, number>();
  const txns = new Map<string, Txn>();
  const cursors = new Map<string, { ns: string; docs: Bson[] }>();
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  let seq = 0;
  let nextCursorId = 1;
  let nextConnectionId = 1;
  let failPoint: FailPoint | null = null;
  const electionId = new ObjectId('7fffffff0000000000000001');

  const coll = (ns: string): Map<string, Bson> => {
    let c = data.get(ns);
    if (!c) {
      c = new Map();
      data.set(ns, c);
    }
    return c;
  };
  const writeKey = (ns: string, key: string): string => `${ns}\u0000${key}`;

  const committed: Access = {
    all: (ns) => [...(data.get(ns)?.values() ?? [])],
    byId: (ns, key) => data.get(ns)?.get(key),
    put(ns, key, doc) {
      seq += 1;
      lastWrite.set(writeKey(ns, key), seq);
      if (doc) coll(ns).set(key, doc);
      else data.get(ns)?.delete(key);
      // A plain write to a document an open transaction staged: that transaction can no longer commit.
      for (const t of txns.values()) if (t.staged.get(ns)?.has(key)) t.doomed = true;
    },
  };

  const inTxn = (txn: Txn): Access => ({
    all(ns) {
      const staged = txn.staged.get(ns);
      if (!staged) return committed.all(ns);
      const out: Bson[] = [];
      for (const [key, doc] of data.get(ns) ?? []) {
        const s = staged.has(key) ? staged.get(key) : doc;
        if (s) out.push(s);
      }
      for (const [key, doc] of staged) if (doc && !data.get(ns)?.has(key)) out.push(doc);
      return out;
    },
    byId(ns, key) {
      const staged = txn.staged.get(ns);
      return staged?.has(key) ? (staged.get(key) ?? undefined) : committed.byId(ns, key);
    },
    put(ns, key, doc) {
      const writtenAfterStart = (lastWrite.get(writeKey(ns, key)) ?? 0) > txn.snapshot;
      const stagedByOther = [...txns.values()].some((t) => t !== txn && t.staged.get(ns)?.has(key));
      if (writtenAfterStart || stagedByOther) {
        txns.delete(txn.session);
        throw new CommandError(112, 'WriteConflict', 'Write conflict during plan execution and yielding is disabled.', ['TransientTransactionError']);
      }
      let staged = txn.staged.get(ns);
      if (!staged) {
        staged = new Map();
        txn.staged.set(ns, staged);
      }
      staged.set(key, doc);
    },
  });

  const duplicateKey = (ns: string, id: unknown): CommandError =>
    new CommandError(11000, 'DuplicateKey', `E11000 duplicate key error collection: ${ns} index: _id_ dup key: { _id: ${JSON.stringify(String(id))} }`);

  const requireString = (cmd: Bson, field: string): string => {
    const v = cmd[field];
    if (typeof v !== 'string' || v.length === 0) throw new CommandError(2, 'BadValue', `stand-in: ${field} must be a collection name`);
    return v;
  };
  const requireDoc = (v: unknown, what: string): Bson => {
    if (v === undefined) return {};
    if (!isPlainObject(v)) throw new CommandError(2, 'BadValue', `stand-in: ${what} must be a document`);
    return v;
  };
  const num = (v: unknown): number => (v instanceof Long ? v.toNumber() : typeof v === 'number' ? v : 0);

  const cursorReply = (ns: string, docs: Bson[], batchSize: number, singleBatch: boolean, field: 'firstBatch' | 'nextBatch', existingId?: string): Bson => {
    const batch = docs.slice(0, batchSize);
    const rest = docs.slice(batchSize);
    let id = 0;
    if (rest.length > 0 && !singleBatch) {
      id = existingId ? Number(existingId) : nextCursorId++;
      cursors.set(String(id), { ns, docs: rest });
    } else if (existingId) cursors.delete(existingId);
    return { cursor: { id: Long.fromNumber(id), ns, [field]: batch }, ok: 1 };
  };

  const hello = (cmd: Bson, connectionId: number, address: string): Bson => ({
    ...(cmd['helloOk'] === true ? { helloOk: true } : {}),
    isWritablePrimary: true,
    ismaster: true,
    ...(replicaSet ? { setName: 'rs0', setVersion: 1, electionId, hosts: [address], primary: address, me: address, secondary: false } : {}),
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
  });

  /** The documents of `ns` a find-like command selects, in its `sort` order: whole documents, as the stand-in has no projections. */
  const select = (access: Access, ns: string, cmd: Bson, fields: { filter: string; projection: string }): Bson[] => {
    const projection = cmd[fields.projection];
    if (projection !== undefined && Object.keys(requireDoc(projection, fields.projection)).length > 0) {
      throw new CommandError(2, 'BadValue', 'stand-in: projections are not supported');
    }
    const filter = requireDoc(cmd[fields.filter], fields.filter);
    return sortDocs(
      access.all(ns).filter((d) => matches(d, filter)),
      requireDoc(cmd['sort'], 'sort'),
    );
  };

  const run = (db: string, name: string, cmd: Bson, access: Access): Bson => {
    switch (name) {
      case 'ping':
        return { ok: 1 };
      case 'buildInfo':
      case 'buildinfo':
        return { version: '7.0.0-standin', versionArray: [7, 0, 0, 0], maxBsonObjectSize: 16 * 1024 * 1024, ok: 1 };
      case 'endSessions':
        return { ok: 1 };
      case 'createIndexes': {
        const ns = `${db}.${requireString(cmd, name)}`;
        const list = cmd['indexes'];
        if (!Array.isArray(list)) throw new CommandError(2, 'BadValue', 'indexes must be an array');
        const existing = indexes.get(ns) ?? [];
        const before = existing.length + 1;
        const created = !data.has(ns);
        coll(ns);
        for (const spec of list) {
          if (!isPlainObject(spec) || !isPlainObject(spec['key']) || typeof spec['name'] !== 'string') throw new CommandError(2, 'BadValue', 'bad index spec');
          if (spec['unique'] === true) throw new CommandError(2, 'BadValue', 'stand-in: unique secondary indexes are not supported');
          const same = existing.find((i) => i['name'] === spec['name']);
          if (same && !valuesEqual(same['key'], spec['key']))
            throw new CommandError(86, 'IndexKeySpecsConflict', `index ${spec['name']} exists with other keys`);
          if (!same) existing.push({ v: 2, key: spec['key'], name: spec['name'] });
        }
        indexes.set(ns, existing);
        return { numIndexesBefore: before, numIndexesAfter: existing.length + 1, createdCollectionAutomatically: created, ok: 1 };
      }
      case 'listIndexes': {
        const ns = `${db}.${requireString(cmd, name)}`;
        if (!data.has(ns)) throw new CommandError(26, 'NamespaceNotFound', `ns does not exist: ${ns}`);
        return cursorReply(ns, [{ v: 2, key: { _id: 1 }, name: '_id_' }, ...(indexes.get(ns) ?? [])], 101, true, 'firstBatch');
      }
      case 'find': {
        const ns = `${db}.${requireString(cmd, name)}`;
        let rows = select(access, ns, cmd, { filter: 'filter', projection: 'projection' });
        rows = rows.slice(num(cmd['skip']));
        const limit = Math.abs(num(cmd['limit']));
        if (limit > 0) rows = rows.slice(0, limit);
        const batchSize = cmd['batchSize'] === undefined ? 101 : num(cmd['batchSize']) || rows.length || 1;
        return cursorReply(ns, rows, batchSize, cmd['singleBatch'] === true, 'firstBatch');
      }
      case 'getMore': {
        const id = String(num(cmd['getMore']));
        const c = cursors.get(id);
        if (!c) throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
        const batchSize = cmd['batchSize'] === undefined ? 101 : num(cmd['batchSize']);
        return cursorReply(c.ns, c.docs, batchSize, false, 'nextBatch', id);
      }
      case 'killCursors': {
        const ids = Array.isArray(cmd['cursors']) ? cmd['cursors'].map(num) : [];
        for (const id of ids) cursors.delete(String(id));
        return { cursorsKilled: ids.map((id) => Long.fromNumber(id)), cursorsNotFound: [], cursorsAlive: [], cursorsUnknown: [], ok: 1 };
      }
      case 'insert': {
        const ns = `${db}.${requireString(cmd, name)}`;
        const docs = cmd['documents'];
        if (!Array.isArray(docs)) throw new CommandError(2, 'BadValue', 'documents must be an array');
        const writeErrors: Bson[] = [];
        let n = 0;
        for (const [index, raw] of docs.entries()) {
          const doc = clone(requireDoc(raw, 'document'));
          if (doc['_id'] === undefined) Object.assign(doc, { _id: new ObjectId(), ...doc });
          const key = idKey(doc['_id']);
          if (access.byId(ns, key)) {
            writeErrors.push(writeError(index, duplicateKey(ns, doc['_id'])));
            if (cmd['ordered'] !== false) break;
            continue;
          }
          access.put(ns, key, doc);
          n += 1;
        }
        return { n, ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
      }
      case 'update': {
        const ns = `${db}.${requireString(cmd, name)}`;
        const updates = cmd['updates'];
        if (!Array.isArray(updates)) throw new CommandError(2, 'BadValue', 'updates must be an array');
        const writeErrors: Bson[] = [];
        const upserted: Bson[] = [];
        let n = 0;
        let nModified = 0;
        for (const [index, raw] of updates.entries()) {
          try {
            const u = requireDoc(raw, 'update statement');
            for (const k of Object.keys(u)) {
              if (!['q', 'u', 'upsert', 'multi'].includes(k)) throw new CommandError(2, 'BadValue', `stand-in: update option ${k} is not supported`);
            }
            const q = requireDoc(u['q'], 'q');
            const found = access.all(ns).filter((d) => matches(d, q));
            const targets = u['multi'] === true ? found : found.slice(0, 1);
            if (targets.length === 0 && u['upsert'] === true) {
              const doc = applyUpdate(upsertSeed(q), u['u'], true);
              if (doc['_id'] === undefined) Object.assign(doc, { _id: new ObjectId(), ...doc });
              const key = idKey(doc['_id']);
              if (access.byId(ns, key)) throw duplicateKey(ns, doc['_id']);
              access.put(ns, key, doc);
              upserted.push({ index, _id: doc['_id'] });
              n += 1;
              continue;
            }
            for (const old of targets) {
              const next = applyUpdate(old, u['u'], false);
              n += 1;
              if (!valuesEqual(next, old)) {
                nModified += 1;
                access.put(ns, idKey(old['_id']), next);
              }
            }
          } catch (e) {
            if (!(e instanceof CommandError) || e.code === 112) throw e; // a write conflict aborts the transaction
            writeErrors.push(writeError(index, e));
            if (cmd['ordered'] !== false) break;
          }
        }
        return { n, nModified, ...(upserted.length ? { upserted } : {}), ...(writeErrors.length ? { writeErrors } : {}), ok: 1 };
      }
      case 'delete': {
        const ns = `${db}.${requireString(cmd, name)}`;
        const deletes = cmd['deletes'];
        if (!Array.isArray(deletes)) throw new CommandError(2, 'BadValue', 'deletes must be an array');
        let n = 0;
        for (const raw of deletes) {
          const d = requireDoc(raw, 'delete statement');
          const found = access.all(ns).filter((doc) => matches(doc, requireDoc(d['q'], 'q')));
          for (const doc of num(d['limit']) === 1 ? found.slice(0, 1) : found) {
            access.put(ns, idKey(doc['_id']), null);
            n += 1;
          }
        }
        return { n, ok: 1 };
      }
      case 'findAndModify': {
        const ns = `${db}.${requireString(cmd, name)}`;
        const old = select(access, ns, cmd, { filter: 'query', projection: 'fields' })[0];
        const returnNew = cmd['new'] === true;
        if (cmd['remove'] === true) {
          if (old) access.put(ns, idKey(old['_id']), null);
          return { lastErrorObject: { n: old ? 1 : 0 }, value: old ?? null, ok: 1 };
        }
        if (old) {
          const next = applyUpdate(old, cmd['update'], false);
          access.put(ns, idKey(old['_id']), next);
          return { lastErrorObject: { n: 1, updatedExisting: true }, value: returnNew ? next : old, ok: 1 };
        }
        if (cmd['upsert'] !== true) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
        const doc = applyUpdate(upsertSeed(requireDoc(cmd['query'], 'query')), cmd['update'], true);
        if (doc['_id'] === undefined) Object.assign(doc, { _id: new ObjectId(), ...doc });
        const key = idKey(doc['_id']);
        if (access.byId(ns, key)) throw duplicateKey(ns, doc['_id']);
        access.put(ns, key, doc);
        return { lastErrorObject: { n: 1, updatedExisting: false, upserted: doc['_id'] }, value: returnNew ? doc : null, ok: 1 };
      }
      case 'drop': {
        const ns = `${db}.${requireString(cmd, name)}`;
        for (const doc of access.all(ns)) access.put(ns, idKey(doc['_id']), null);
        data.delete(ns);
        indexes.delete(ns);
        return { ok: 1 };
      }
      case 'dropDatabase': {
        for (const ns of [...data.keys()]) {
          if (!ns.startsWith(`${db}.`)) continue;
          for (const doc of committed.all(ns)) committed.put(ns, idKey(doc['_id']), null);
          data.delete(ns);
          indexes.delete(ns);
        }
        return { ok: 1 };
      }
      default:
        throw new CommandError(59, 'CommandNotFound', `no such command: '${name}' (not implemented by the stand-in)`);
    }
  };

  const sessionKey = (cmd: Bson): string => {
    const lsid = cmd['lsid'];
    const id = isPlainObject(lsid) ? lsid['id'] : undefined;
    if (!(id instanceof Binary)) throw new CommandError(2, 'BadValue', 'transaction without an lsid');
    return id.toString('hex');
  };

  const noSuchTransaction = (txnNumber: number): CommandError =>
    new CommandError(251, 'NoSuchTransaction', `Transaction with { txnNumber: ${txnNumber} } has been aborted.`, ['TransientTransactionError']);

  const runInContext = (db: string, name: string, cmd: Bson): Bson => {
    const autocommit = cmd['autocommit'];
    const hasTxnNumber = cmd['txnNumber'] !== undefined;
    if ((autocommit === false || hasTxnNumber) && !replicaSet) {
      throw new CommandError(20, 'IllegalOperation', 'Transaction numbers are only allowed on a replica set member or mongos');
    }
    if (autocommit !== false) {
      if (name === 'commitTransaction' || name === 'abortTransaction') throw new CommandError(50768, 'Location50768', 'txnNumber and autocommit are required');
      return run(db, name, cmd, committed);
    }
    const session = sessionKey(cmd);
    const txnNumber = num(cmd['txnNumber']);
    if (cmd['startTransaction'] === true) {
      txns.set(session, { session, txnNumber, snapshot: seq, staged: new Map(), doomed: false });
    }
    const txn = txns.get(session);
    if (name === 'abortTransaction') {
      if (txn?.txnNumber === txnNumber) txns.delete(session);
      return { ok: 1 };
    }
    if (!txn || txn.txnNumber !== txnNumber) {
      if (name === 'commitTransaction' && committedTxns.has(`${session}:${txnNumber}`)) return { ok: 1 }; // a retried commit
      throw noSuchTransaction(txnNumber);
    }
    if (txn.doomed) {
      txns.delete(session);
      throw noSuchTransaction(txnNumber);
    }
    if (name === 'commitTransaction') {
      txns.delete(session);
      for (const [ns, staged] of txn.staged) for (const [key, doc] of staged) committed.put(ns, key, doc);
      committedTxns.add(`${session}:${txnNumber}`);
      return { ok: 1 };
    }
    return run(db, name, cmd, inTxn(txn));
  };
  const committedTxns = new Set<string>();

  const failFor = (db: string, name: string, cmd: Bson): FailPoint | null => {
    const fp = failPoint;
    if (!fp?.commands.has(name)) return null;
    const target = cmd[name];
    if (fp.namespace !== undefined && fp.namespace !== `${db}.${String(target)}`) return null;
    fp.remaining -= 1;
    if (fp.remaining <= 0) failPoint = null;
    return fp;
  };

  const configureFailPoint = (cmd: Bson): Bson => {
    if (cmd['configureFailPoint'] !== 'failCommand') throw new CommandError(2, 'BadValue', 'stand-in: only the failCommand fail point exists');
    const mode = cmd['mode'];
    const d = requireDoc(cmd['data'], 'data');
    if (mode === 'off') failPoint = null;
    else {
      const times = mode === 'alwaysOn' ? Number.POSITIVE_INFINITY : isPlainObject(mode) ? num(mode['times']) : 0;
      const names = Array.isArray(d['failCommands']) ? d['failCommands'].filter((c): c is string => typeof c === 'string') : [];
      failPoint = {
        remaining: times,
        commands: new Set(names),
        ...(typeof d['namespace'] === 'string' ? { namespace: d['namespace'] } : {}),
        ...(d['errorCode'] !== undefined ? { errorCode: num(d['errorCode']) } : {}),
        errorLabels: Array.isArray(d['errorLabels']) ? d['errorLabels'].filter((c): c is string => typeof c === 'string') : [],
        closeConnection: d['closeConnection'] === true,
      };
    }
    return { count: 0, ok: 1 };
  };

  const handle = (req: Request, socket: Socket, connectionId: number, address: string): Bson | null => {
    const name = Object.keys(req.command)[0] ?? '';
    if (HELLO_NAMES.has(name)) return hello(req.command, connectionId, address);
    if (!QUIET.has(name)) commands.push(name);
    try {
      if (name === 'configureFailPoint') return configureFailPoint(req.command);
      const fp = failFor(req.db, name, req.command);
      if (fp) {
        if (fp.closeConnection) {
          socket.destroy();
          return null;
        }
        throw new CommandError(fp.errorCode ?? 1, 'FailPoint', 'Failing command via failCommand failpoint', fp.errorLabels);
      }
      return runInContext(req.db, name, req.command);
    } catch (e) {
      if (e instanceof CommandError) {
        return { ok: 0, errmsg: e.message, code: e.code, codeName: e.codeName, ...(e.errorLabels.length ? { errorLabels: [...e.errorLabels] } : {}) };
      }
      return { ok: 0, errmsg: `stand-in internal error: ${e instanceof Error ? e.message : String(e)}`, code: 1, codeName: 'InternalError' };
    }
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const connectionId = nextConnectionId++;
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      try {
        const { messages, rest } = takeMessages(Buffer.concat([pending, chunk]));
        pending = rest;
        for (const msg of messages) {
          let req: Request;
          try {
            req = parseRequest(msg);
          } catch (e) {
            if (!(e instanceof CommandError)) throw e;
            const opCode = msg.readInt32LE(12);
            const fake: Request = { requestId: msg.readInt32LE(4), opCode, db: 'admin', command: {}, moreToCome: false };
            socket.write(encodeReply(fake, { ok: 0, errmsg: e.message, code: e.code, codeName: e.codeName }));
            continue;
          }
          const reply = handle(req, socket, connectionId, address);
          if (reply && !req.moreToCome && !socket.destroyed) socket.write(encodeReply(req, reply));
          if (req.opCode === OP_QUERY && reply === null) socket.destroy();
        }
      } catch {
        socket.destroy(); // a framing error: a real server closes the connection too
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const info = server.address();
  if (info === null || typeof info === 'string') throw new Error('stand-in: no TCP address');
  const address = `127.0.0.1:${info.port}`;
  const query = replicaSet ? 'replicaSet=rs0' : 'directConnection=true';

  return {
    url: `mongodb://${address}/?${query}&serverSelectionTimeoutMS=5000&heartbeatFrequencyMS=60000`,
    commands,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const writeError = (index: number, e: CommandError): Bson => ({ index, code: e.code, codeName: e.codeName, errmsg: e.message });
