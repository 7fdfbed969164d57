/**
 * A wire-level EventStoreDB stand-in for tests: an in-process gRPC server speaking the
 * protocol of the service definitions that `@eventstore/db-client` ships, over an in-memory log.
 * Test code only: never import it from production code.
 *
 * Implemented: ServerFeatures.GetSupportedMethods; Streams.Append; Streams.BatchAppend (only
 * advertised when `batchAppend: true`, as the client picks its append path from the features);
 * Streams.Read for stream reads (forwards/backwards, start/end/revision, StreamNotFound),
 * `$all` reads (forwards inclusive of a given position, backwards exclusive), catch-up
 * subscriptions to `$all` (exclusive of the position, event-type/stream filters by regex or
 * prefixes, checkpoints every window × multiplier scanned events and on reaching the head,
 * CaughtUp) and to a stream. Responses honour gRPC flow control (we wait for 'drain').
 *
 * Not implemented: Delete/Tombstone (UNIMPLEMENTED), stream metadata ($maxCount, ACLs…), link
 * resolution, structured UUIDs in responses, authentication, Gossip/cluster, persistent
 * subscriptions, projections, deadlines, max append size, transactions.
 */
import { randomUUID } from 'node:crypto';
import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerWritableStream,
  type ServiceError,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type * as StreamsPbTypes from '@eventstore/db-client/generated/streams_pb.js';
import type * as SharedPbTypes from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import statusPb from '@eventstore/db-client/generated/status_pb.js';
import codePb from '@eventstore/db-client/generated/code_pb.js';
import serverFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb.js';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import { createLog, type AppendOutcome, type Expected, type LogRecord, type ProposedEvent } from './log.ts';

const { ReadReq, ReadResp, AppendResp, BatchAppendResp } = streamsPb;
type ReadReqT = StreamsPbTypes.ReadReq;
type ReadRespT = StreamsPbTypes.ReadResp;
type AppendReqT = StreamsPbTypes.AppendReq;
type AppendRespT = StreamsPbTypes.AppendResp;
type BatchAppendReqT = StreamsPbTypes.BatchAppendReq;
type BatchAppendRespT = StreamsPbTypes.BatchAppendResp;
type ProposedMessageT = StreamsPbTypes.AppendReq.ProposedMessage | StreamsPbTypes.BatchAppendReq.ProposedMessage;
type FilterOptionsT = StreamsPbTypes.ReadReq.Options.FilterOptions;
type UUIDT = SharedPbTypes.UUID;

export type EsdbStandInOptions = { batchAppend: boolean };

export type EsdbStandIn = {
  connectionString: string;
  /** Writes events straight into the log, e.g. `$`-typed system events a real node writes itself. */
  appendRaw(streamId: string, events: readonly { type: string; data?: Record<string, unknown> }[]): void;
  /** Every record in `$all` order, system events included. */
  records(): readonly LogRecord[];
  /** Rewrites the log behind the server's back (tamper tests): see Log.rewrite. */
  rewrite(edit: (records: LogRecord[]) => LogRecord[]): void;
  /** How many Append and BatchAppend calls/batches the server has handled. */
  calls: { append: number; batchAppend: number };
  close(): Promise<void>;
};

/** Events scanned per filter window when the client asks for the server's default ("count"). */
const DEFAULT_FILTER_WINDOW = 32;

const serviceError = (code: status, details: string, exception?: string): Partial<ServiceError> => {
  const metadata = new Metadata();
  if (exception) metadata.set('exception', exception);
  return { code, details, metadata };
};

/** The expected revision of an append's options (Append and BatchAppend name the revision field differently). */
const expectedOf = (o: { hasNoStream(): boolean; hasAny(): boolean; hasStreamExists(): boolean }, revision: string | undefined): Expected | null => {
  if (revision !== undefined) return { kind: 'revision', revision: BigInt(revision) };
  if (o.hasNoStream()) return { kind: 'no_stream' };
  if (o.hasAny()) return { kind: 'any' };
  if (o.hasStreamExists()) return { kind: 'stream_exists' };
  return null;
};

/** Writes the expected revision into a message, which spells each kind with a field of its own. */
const spellExpected = (expected: Expected, set: { revision(r: string): unknown; noStream(): unknown; any(): unknown; streamExists(): unknown }): void => {
  switch (expected.kind) {
    case 'revision':
      set.revision(expected.revision.toString(10));
      return;
    case 'no_stream':
      set.noStream();
      return;
    case 'any':
      set.any();
      return;
    case 'stream_exists':
      set.streamExists();
      return;
  }
};

/** An append's success, in the message of the call that made it (Append and BatchAppend each have their own). */
const success = <S extends SuccessPb<E, P>, E, P extends PositionPb>(
  into: S,
  outcome: Extract<AppendOutcome, { kind: 'success' }>,
  Empty: new () => E,
  Position: new () => P,
): S => {
  if (outcome.currentRevision < 0n) into.setNoStream(new Empty());
  else into.setCurrentRevision(outcome.currentRevision.toString(10));
  if (outcome.position === null) into.setNoPosition(new Empty());
  else {
    const p = new Position();
    p.setCommitPosition(outcome.position.toString(10));
    p.setPreparePosition(outcome.position.toString(10));
    into.setPosition(p);
  }
  return into;
};
type PositionPb = { setCommitPosition(v: string): unknown; setPreparePosition(v: string): unknown };
type SuccessPb<E, P> = { setNoStream(e: E): unknown; setCurrentRevision(v: string): unknown; setNoPosition(e: E): unknown; setPosition(p: P): unknown };

const streamName = (id: SharedPbTypes.StreamIdentifier | undefined): string => (id ? Buffer.from(id.getStreamName_asU8()).toString('utf8') : '');

const streamIdentifier = (name: string): SharedPbTypes.StreamIdentifier => {
  const id = new sharedPb.StreamIdentifier();
  id.setStreamName(Uint8Array.from(Buffer.from(name, 'utf8')));
  return id;
};

const uuidToString = (uuid: UUIDT | undefined): string => {
  if (!uuid) return '';
  if (uuid.hasStructured()) {
    const s = uuid.getStructured();
    const buf = Buffer.alloc(16);
    buf.writeBigInt64BE(BigInt(s?.getMostSignificantBits() ?? '0'), 0);
    buf.writeBigInt64BE(BigInt(s?.getLeastSignificantBits() ?? '0'), 8);
    const h = buf.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  return uuid.getString();
};

const uuidOf = (s: string): UUIDT => {
  const u = new sharedPb.UUID();
  u.setString(s);
  return u;
};

/** The proposed message as a log entry, or an error message when required metadata is missing. */
const toProposed = (pm: ProposedMessageT): ProposedEvent | string => {
  const meta = pm.getMetadataMap();
  const type = meta.get('type');
  const contentType = meta.get('content-type');
  if (type === undefined) return 'type';
  if (contentType === undefined) return 'content-type';
  return {
    id: uuidToString(pm.getId()).toLowerCase(),
    type,
    contentType,
    data: pm.getData_asU8(),
    metadata: pm.getCustomMetadata_asU8(),
  };
};

type Sink<T> = {
  write(message: T): boolean;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
};

/** Writes with gRPC flow control: waits for 'drain' when the transport buffer is full. */
const send = async <T>(call: Sink<T>, message: T, signal: AbortSignal): Promise<void> => {
  if (signal.aborted) return;
  if (call.write(message)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      call.removeListener('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
};

const toReadEvent = (r: LogRecord): ReadRespT => {
  const recorded = new ReadResp.ReadEvent.RecordedEvent();
  recorded.setId(uuidOf(r.id));
  recorded.setStreamIdentifier(streamIdentifier(r.streamId));
  recorded.setStreamRevision(r.revision.toString(10));
  recorded.setCommitPosition(r.position.toString(10));
  recorded.setPreparePosition(r.position.toString(10));
  recorded.getMetadataMap().set('type', r.type).set('content-type', r.contentType).set('created', r.created.toString(10));
  recorded.setData(r.data);
  recorded.setCustomMetadata(r.metadata);
  const event = new ReadResp.ReadEvent();
  event.setEvent(recorded);
  event.setCommitPosition(r.position.toString(10));
  const resp = new ReadResp();
  resp.setEvent(event);
  return resp;
};

/** EventStoreDB matches filter regexes anywhere in the string (Regex.IsMatch). */
const toPredicate = (filter: FilterOptionsT | undefined): ((r: LogRecord) => boolean) | null => {
  if (!filter) return null;
  const expr = filter.hasEventType() ? filter.getEventType() : filter.getStreamIdentifier();
  if (!expr) return null;
  const field = (r: LogRecord): string => (filter.hasEventType() ? r.type : r.streamId);
  const regex = expr.getRegex();
  if (regex) {
    const re = new RegExp(regex);
    return (r) => re.test(field(r));
  }
  const prefixes = expr.getPrefixList();
  return (r) => prefixes.some((p) => field(r).startsWith(p));
};

export async function startEsdbStandIn(options: EsdbStandInOptions): Promise<EsdbStandIn> {
  const log = createLog();
  const calls = { append: 0, batchAppend: 0 };
  const live = new Set<AbortController>();

  const callSignal = (call: { on(event: 'cancelled' | 'close' | 'error', listener: () => void): unknown }): AbortController => {
    const ac = new AbortController();
    live.add(ac);
    const abort = (): void => {
      ac.abort();
      live.delete(ac);
    };
    call.on('cancelled', abort);
    call.on('close', abort);
    call.on('error', abort);
    return ac;
  };

  // ---- ServerFeatures -------------------------------------------------------------------
  const getSupportedMethods = (_call: unknown, callback: sendUnaryData<serverFeaturesPb.SupportedMethods>): void => {
    const methods = new serverFeaturesPb.SupportedMethods();
    methods.setEventStoreServerVersion('23.10.0');
    const add = (service: string, method: string, features: string[] = []): void => {
      const m = new serverFeaturesPb.SupportedMethod();
      m.setServiceName(service);
      m.setMethodName(method);
      m.setFeaturesList(features);
      methods.addMethods(m);
    };
    add('event_store.client.streams.streams', 'read', ['position', 'events']);
    add('event_store.client.streams.streams', 'append');
    if (options.batchAppend) add('event_store.client.streams.streams', 'batchappend', ['deadline_duration']);
    add('event_store.client.server_features.serverfeatures', 'getsupportedmethods');
    callback(null, methods);
  };

  // ---- Streams.Append (client streaming: options, then proposed messages) -----------------
  const appendResp = (expected: Expected, outcome: AppendOutcome): AppendRespT => {
    const resp = new AppendResp();
    if (outcome.kind === 'success') {
      resp.setSuccess(success(new AppendResp.Success(), outcome, sharedPb.Empty, AppendResp.Position));
      return resp;
    }
    const wrong = new AppendResp.WrongExpectedVersion();
    if (outcome.currentRevision === null) {
      wrong.setCurrentNoStream(new sharedPb.Empty());
      wrong.setNoStream2060(new sharedPb.Empty());
    } else {
      wrong.setCurrentRevision(outcome.currentRevision.toString(10));
      wrong.setCurrentRevision2060(Number(outcome.currentRevision));
    }
    spellExpected(expected, {
      revision: (r) => wrong.setExpectedRevision(r).setExpectedRevision2060(Number(r)),
      noStream: () => wrong.setExpectedNoStream(new sharedPb.Empty()),
      any: () => wrong.setExpectedAny(new sharedPb.Empty()).setAny2060(new sharedPb.Empty()),
      streamExists: () => wrong.setExpectedStreamExists(new sharedPb.Empty()).setStreamExists2060(new sharedPb.Empty()),
    });
    resp.setWrongExpectedVersion(wrong);
    return resp;
  };

  const appendExpected = (o: StreamsPbTypes.AppendReq.Options): Expected | null => expectedOf(o, o.hasRevision() ? o.getRevision() : undefined);

  const append = (call: ServerReadableStream<AppendReqT, AppendRespT>, callback: sendUnaryData<AppendRespT>): void => {
    calls.append += 1;
    let opts: StreamsPbTypes.AppendReq.Options | undefined;
    const events: ProposedEvent[] = [];
    let failure: Partial<ServiceError> | null = null;
    call.on('data', (req: AppendReqT) => {
      if (failure) return;
      if (!opts) {
        opts = req.getOptions();
        if (!opts) failure = serviceError(status.INVALID_ARGUMENT, 'first message must hold the options');
        return;
      }
      const pm = req.getProposedMessage();
      if (!pm) {
        failure = serviceError(status.INVALID_ARGUMENT, 'options sent twice');
        return;
      }
      const proposed = toProposed(pm);
      if (typeof proposed === 'string') {
        failure = serviceError(status.INVALID_ARGUMENT, `missing ${proposed}`, 'missing-required-metadata-property');
        return;
      }
      events.push(proposed);
    });
    call.on('error', () => {
      failure ??= serviceError(status.CANCELLED, 'cancelled');
    });
    call.on('end', () => {
      if (failure) return callback(failure);
      const expected = opts ? appendExpected(opts) : null;
      if (!opts || !expected) return callback(serviceError(status.INVALID_ARGUMENT, 'no expected revision'));
      const outcome = log.append(streamName(opts.getStreamIdentifier()), expected, events);
      callback(null, appendResp(expected, outcome));
    });
  };

  // ---- Streams.BatchAppend (bidi, correlated batches) ----------------------------------------
  const batchExpected = (o: StreamsPbTypes.BatchAppendReq.Options): Expected | null => expectedOf(o, o.hasStreamPosition() ? o.getStreamPosition() : undefined);

  const statusWith = (code: codePb.Code, message: string, typeName: string, detail: Uint8Array): statusPb.Status => {
    const st = new statusPb.Status();
    st.setCode(code);
    st.setMessage(message);
    const any = new anyPb.Any();
    any.pack(detail, typeName);
    st.setDetails(any);
    return st;
  };

  const batchResp = (correlationId: string, stream: string, expected: Expected, outcome: AppendOutcome | string): BatchAppendRespT => {
    const resp = new BatchAppendResp();
    resp.setCorrelationId(uuidOf(correlationId));
    resp.setStreamIdentifier(streamIdentifier(stream));
    spellExpected(expected, {
      revision: (r) => resp.setStreamPosition(r),
      noStream: () => resp.setNoStream(new emptyPb.Empty()),
      any: () => resp.setAny(new emptyPb.Empty()),
      streamExists: () => resp.setStreamExists(new emptyPb.Empty()),
    });
    if (typeof outcome === 'string') {
      resp.setError(statusWith(codePb.Code.INVALID_ARGUMENT, outcome, 'event_store.client.Unknown', new sharedPb.Unknown().serializeBinary()));
      return resp;
    }
    if (outcome.kind === 'success') {
      resp.setSuccess(success(new BatchAppendResp.Success(), outcome, emptyPb.Empty, sharedPb.AllStreamPosition));
      return resp;
    }
    const wrong = new sharedPb.WrongExpectedVersion();
    if (outcome.currentRevision === null) wrong.setCurrentNoStream(new emptyPb.Empty());
    else wrong.setCurrentStreamRevision(outcome.currentRevision.toString(10));
    spellExpected(expected, {
      revision: (r) => wrong.setExpectedStreamPosition(r),
      noStream: () => wrong.setExpectedNoStream(new emptyPb.Empty()),
      any: () => wrong.setExpectedAny(new emptyPb.Empty()),
      streamExists: () => wrong.setExpectedStreamExists(new emptyPb.Empty()),
    });
    resp.setError(statusWith(codePb.Code.FAILED_PRECONDITION, 'WrongExpectedVersion', 'event_store.client.WrongExpectedVersion', wrong.serializeBinary()));
    return resp;
  };

  const batchAppend = (call: ServerDuplexStream<BatchAppendReqT, BatchAppendRespT>): void => {
    const ac = callSignal(call);
    type Pending = { stream: string; expected: Expected; events: ProposedEvent[]; problem: string | null };
    const pending = new Map<string, Pending>();
    call.on('data', (req: BatchAppendReqT) => {
      const correlationId = uuidToString(req.getCorrelationId());
      let batch = pending.get(correlationId);
      if (!batch) {
        const o = req.getOptions();
        const expected = o ? batchExpected(o) : null;
        batch = {
          stream: o ? streamName(o.getStreamIdentifier()) : '',
          expected: expected ?? { kind: 'any' },
          events: [],
          problem: o && expected ? null : 'first batch of a correlation must hold the options',
        };
        pending.set(correlationId, batch);
      }
      for (const pm of req.getProposedMessagesList()) {
        const proposed = toProposed(pm);
        if (typeof proposed === 'string') batch.problem ??= `missing required metadata property ${proposed}`;
        else batch.events.push(proposed);
      }
      if (!req.getIsFinal()) return;
      pending.delete(correlationId);
      calls.batchAppend += 1;
      const outcome = batch.problem ?? log.append(batch.stream, batch.expected, batch.events);
      // One answer per request the client sent (the client bounds those): written at once, never
      // waiting for 'drain', so answers to many appends in flight do not pile listeners on the call.
      if (!ac.signal.aborted) call.write(batchResp(correlationId, batch.stream, batch.expected, outcome));
    });
    call.on('end', () => call.end());
  };

  // ---- Streams.Read ---------------------------------------------------------------------
  const fail = (call: ServerWritableStream<ReadReqT, ReadRespT>, error: Partial<ServiceError>): void => {
    call.emit('error', error);
  };

  const readStreamOnce = async (call: ServerWritableStream<ReadReqT, ReadRespT>, o: StreamsPbTypes.ReadReq.Options, signal: AbortSignal): Promise<void> => {
    const so = o.getStream();
    const name = streamName(so?.getStreamIdentifier());
    const events = log.stream(name);
    if (!events) {
      const nf = new ReadResp.StreamNotFound();
      nf.setStreamIdentifier(streamIdentifier(name));
      const resp = new ReadResp();
      resp.setStreamNotFound(nf);
      await send(call, resp, signal);
      call.end();
      return;
    }
    const count = Number(BigInt(o.getCount() || '0'));
    const backwards = o.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
    const last = events.length - 1;
    let i: number;
    if (so?.hasRevision()) i = Number(BigInt(so.getRevision()));
    else if (so?.hasEnd()) i = backwards ? last : events.length;
    else i = backwards ? last : 0;
    if (backwards) i = Math.min(i, last);
    for (let sent = 0; sent < count && i >= 0 && i < events.length && !signal.aborted; sent += 1) {
      const r = events[i];
      if (r) await send(call, toReadEvent(r), signal);
      i += backwards ? -1 : 1;
    }
    call.end();
  };

  /** Position → index into the log, or null when it is not a record boundary. */
  const allIndex = (p: StreamsPbTypes.ReadReq.Options.Position, exclusive: boolean): number | null => {
    const commit = BigInt(p.getCommitPosition());
    const prepare = BigInt(p.getPreparePosition());
    if (commit !== prepare || !log.isBoundary(commit)) return null;
    return exclusive ? log.indexAfter(commit) : log.indexAfter(commit - 1n);
  };

  const readAllOnce = async (call: ServerWritableStream<ReadReqT, ReadRespT>, o: StreamsPbTypes.ReadReq.Options, signal: AbortSignal): Promise<void> => {
    const ao = o.getAll();
    const records = log.all();
    const count = Number(BigInt(o.getCount() || '0'));
    const backwards = o.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
    const matches = toPredicate(o.hasFilter() ? o.getFilter() : undefined);
    let i: number;
    const position = ao?.getPosition();
    if (ao?.hasPosition() && position) {
      // Forwards from a position includes the event there; backwards from it excludes it.
      const at = allIndex(position, false);
      if (at === null) return fail(call, serviceError(status.INVALID_ARGUMENT, 'invalid position'));
      i = backwards ? at - 1 : at;
    } else if (ao?.hasEnd()) i = backwards ? records.length - 1 : records.length;
    else i = backwards ? records.length - 1 : 0;
    let sent = 0;
    for (; sent < count && i >= 0 && i < records.length && !signal.aborted; i += backwards ? -1 : 1) {
      const r = records[i];
      if (!r || (matches && !matches(r))) continue;
      await send(call, toReadEvent(r), signal);
      sent += 1;
    }
    call.end();
  };

  const confirmation = (): ReadRespT => {
    const c = new ReadResp.SubscriptionConfirmation();
    c.setSubscriptionId(randomUUID());
    const resp = new ReadResp();
    resp.setConfirmation(c);
    return resp;
  };

  const caughtUp = (): ReadRespT => {
    const resp = new ReadResp();
    resp.setCaughtUp(new ReadResp.CaughtUp());
    return resp;
  };

  const checkpoint = (position: bigint): ReadRespT => {
    const c = new ReadResp.Checkpoint();
    c.setCommitPosition(position.toString(10));
    c.setPreparePosition(position.toString(10));
    const resp = new ReadResp();
    resp.setCheckpoint(c);
    return resp;
  };

  /** Catch-up then live over one cursor, so no event is skipped between the two phases. */
  const subscribeAll = async (call: ServerWritableStream<ReadReqT, ReadRespT>, o: StreamsPbTypes.ReadReq.Options, signal: AbortSignal): Promise<void> => {
    const ao = o.getAll();
    const filter = o.hasFilter() ? o.getFilter() : undefined;
    const matches = toPredicate(filter);
    const window = filter ? (filter.hasMax() ? filter.getMax() : DEFAULT_FILTER_WINDOW) * Math.max(1, filter.getCheckpointintervalmultiplier()) : 0;
    let i: number;
    const position = ao?.getPosition();
    if (ao?.hasPosition() && position) {
      const at = allIndex(position, true);
      if (at === null) return fail(call, serviceError(status.INVALID_ARGUMENT, 'invalid position'));
      i = at;
    } else if (ao?.hasEnd()) i = log.all().length;
    else i = 0;
    await send(call, confirmation(), signal);
    let scanned = 0;
    let lastScanned: bigint | null = null;
    let isCaughtUp = false;
    while (!signal.aborted) {
      const records = log.all();
      const r = records[i];
      if (r) {
        i += 1;
        lastScanned = r.position;
        if (!matches || matches(r)) await send(call, toReadEvent(r), signal);
        if (matches && ++scanned >= window) {
          await send(call, checkpoint(r.position), signal);
          scanned = 0;
        }
        continue;
      }
      if (matches && scanned > 0 && lastScanned !== null) {
        await send(call, checkpoint(lastScanned), signal);
        scanned = 0;
      }
      if (!isCaughtUp) {
        isCaughtUp = true;
        await send(call, caughtUp(), signal);
      }
      await log.nextWrite(signal);
    }
  };

  const subscribeStream = async (call: ServerWritableStream<ReadReqT, ReadRespT>, o: StreamsPbTypes.ReadReq.Options, signal: AbortSignal): Promise<void> => {
    const so = o.getStream();
    const name = streamName(so?.getStreamIdentifier());
    let i: number;
    if (so?.hasRevision()) i = Number(BigInt(so.getRevision())) + 1;
    else if (so?.hasEnd()) i = log.stream(name)?.length ?? 0;
    else i = 0;
    await send(call, confirmation(), signal);
    let isCaughtUp = false;
    while (!signal.aborted) {
      const r = log.stream(name)?.[i];
      if (r) {
        i += 1;
        await send(call, toReadEvent(r), signal);
        continue;
      }
      if (!isCaughtUp) {
        isCaughtUp = true;
        await send(call, caughtUp(), signal);
      }
      await log.nextWrite(signal);
    }
  };

  const read = (call: ServerWritableStream<ReadReqT, ReadRespT>): void => {
    const ac = callSignal(call);
    const o = call.request.getOptions();
    if (!o?.hasUuidOption()) return fail(call, serviceError(status.INVALID_ARGUMENT, 'options and uuid_option are required'));
    const subscription = o.hasSubscription();
    const run = o.hasAll() ? (subscription ? subscribeAll : readAllOnce) : o.hasStream() ? (subscription ? subscribeStream : readStreamOnce) : null;
    if (!run) return fail(call, serviceError(status.INVALID_ARGUMENT, 'stream or all is required'));
    if (o.hasStream() && o.hasFilter()) return fail(call, serviceError(status.INVALID_ARGUMENT, 'filters apply to $all only'));
    run(call, o, ac.signal).catch((error: unknown) => {
      if (!ac.signal.aborted) fail(call, serviceError(status.INTERNAL, error instanceof Error ? error.message : String(error)));
    });
  };

  const unimplemented = (_call: unknown, callback: sendUnaryData<never>): void => {
    callback(serviceError(status.UNIMPLEMENTED, 'not implemented by the stand-in'));
  };

  const server = new Server();
  server.addService(StreamsService, { read, append, batchAppend, delete: unimplemented, tombstone: unimplemented });
  server.addService(ServerFeaturesService, { getSupportedMethods });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p)));
  });

  let closed = false;
  return {
    connectionString: `esdb://127.0.0.1:${port}?tls=false`,
    appendRaw: (streamId, events) => {
      log.append(
        streamId,
        { kind: 'any' },
        events.map((e) => ({
          id: randomUUID(),
          type: e.type,
          contentType: 'application/json',
          data: Buffer.from(JSON.stringify(e.data ?? {}), 'utf8'),
          metadata: new Uint8Array(),
        })),
      );
    },
    records: () => log.all(),
    rewrite: (edit) => log.rewrite(edit),
    calls,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const ac of live) ac.abort();
      live.clear();
      server.forceShutdown();
    },
  };
}
