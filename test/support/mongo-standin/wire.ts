/**
 * MongoDB wire protocol framing: OP_QUERY in (the driver's first `isMaster` on a new connection,
 * before it knows the server speaks OP_MSG) answered with OP_REPLY, and OP_MSG both ways.
 * https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
 */
import { BSON } from 'mongodb';
import { CommandError, isPlainObject, type Bson } from './values.ts';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;

export type Request = { requestId: number; opCode: number; db: string; command: Bson; moreToCome: boolean };

/** Splits complete messages off the front of `buf`; returns them and the unconsumed rest. */
export const takeMessages = (buf: Buffer): { messages: Buffer[]; rest: Buffer } => {
  const messages: Buffer[] = [];
  let offset = 0;
  while (buf.length - offset >= 4) {
    const len = buf.readInt32LE(offset);
    if (len < 16 || len > 48_000_000) throw new Error(`stand-in: bad message length ${len}`);
    if (buf.length - offset < len) break;
    messages.push(buf.subarray(offset, offset + len));
    offset += len;
  }
  return { messages, rest: buf.subarray(offset) };
};

const readCString = (buf: Buffer, offset: number): { value: string; next: number } => {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new Error('stand-in: unterminated cstring');
  return { value: buf.toString('utf8', offset, end), next: end + 1 };
};

const readDoc = (buf: Buffer, offset: number): { doc: Bson; next: number } => {
  const size = buf.readInt32LE(offset);
  return { doc: BSON.deserialize(buf.subarray(offset, offset + size)), next: offset + size };
};

export const parseRequest = (msg: Buffer): Request => {
  const requestId = msg.readInt32LE(4);
  const opCode = msg.readInt32LE(12);
  if (opCode === OP_QUERY) {
    const ns = readCString(msg, 20); // after flags
    const { doc } = readDoc(msg, ns.next + 8); // after numberToSkip, numberToReturn
    if (!ns.value.endsWith('.$cmd')) throw new CommandError(59, 'CommandNotFound', 'stand-in: OP_QUERY is only accepted for commands');
    const inner = doc['$query'] ?? doc['query'];
    const command = isPlainObject(inner) ? inner : doc;
    return { requestId, opCode, db: ns.value.slice(0, -'.$cmd'.length), command, moreToCome: false };
  }
  if (opCode === OP_MSG) {
    const flags = msg.readUInt32LE(16);
    const end = msg.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
    let offset = 20;
    let command: Bson | null = null;
    const sequences: Array<[string, Bson[]]> = [];
    while (offset < end) {
      const kind = msg.readUInt8(offset);
      offset += 1;
      if (kind === 0) {
        const r = readDoc(msg, offset);
        command = r.doc;
        offset = r.next;
      } else if (kind === 1) {
        const sectionEnd = offset + msg.readInt32LE(offset);
        const id = readCString(msg, offset + 4);
        const docs: Bson[] = [];
        let p = id.next;
        while (p < sectionEnd) {
          const r = readDoc(msg, p);
          docs.push(r.doc);
          p = r.next;
        }
        sequences.push([id.value, docs]);
        offset = sectionEnd;
      } else {
        throw new Error(`stand-in: unknown OP_MSG section kind ${kind}`);
      }
    }
    if (!command) throw new Error('stand-in: OP_MSG without a body section');
    for (const [id, docs] of sequences) command[id] = docs;
    const db = command['$db'];
    if (typeof db !== 'string') throw new CommandError(40414, 'Location40414', "BSON field '$db' is missing");
    return { requestId, opCode, db, command, moreToCome: (flags & MORE_TO_COME) !== 0 };
  }
  throw new Error(`stand-in: unsupported opCode ${opCode}`);
};

let nextResponseId = 1;

const header = (bodyLength: number, responseTo: number, opCode: number): Buffer => {
  const h = Buffer.alloc(16);
  h.writeInt32LE(16 + bodyLength, 0);
  h.writeInt32LE(nextResponseId++, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
};

export const encodeReply = (req: Request, reply: Bson): Buffer => {
  const doc = Buffer.from(BSON.serialize(reply));
  if (req.opCode === OP_QUERY) {
    const body = Buffer.alloc(20);
    body.writeInt32LE(8, 0); // responseFlags: AwaitCapable
    body.writeBigInt64LE(0n, 4); // cursorID
    body.writeInt32LE(0, 12); // startingFrom
    body.writeInt32LE(1, 16); // numberReturned
    return Buffer.concat([header(body.length + doc.length, req.requestId, OP_REPLY), body, doc]);
  }
  const body = Buffer.alloc(5); // flagBits 0, section kind 0
  return Buffer.concat([header(body.length + doc.length, req.requestId, OP_MSG), body, doc]);
};
