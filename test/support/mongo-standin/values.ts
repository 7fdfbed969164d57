/**
 * BSON value semantics the stand-in needs: MongoDB's cross-type sort order, equality, dotted paths,
 * and a filter matcher for the operators the read store uses ($eq $ne $gt $gte $lt $lte $in $nin
 * $exists $and $or $nor). Anything else is refused loudly, never silently ignored.
 */
import { Binary, BSON, ObjectId } from 'mongodb';

export type Bson = Record<string, unknown>;

export class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly errorLabels: readonly string[] = [],
  ) {
    super(message);
  }
}

export const isPlainObject = (v: unknown): v is Bson => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

const hasBsonType = (v: unknown, type: string): boolean =>
  typeof v === 'object' && v !== null && '_bsontype' in v && (v as { _bsontype: unknown })._bsontype === type;

const NUMERIC = new Set(['Long', 'Int32', 'Double', 'Decimal128']);

/** MongoDB's comparison order of BSON types (https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/). */
export const typeClass = (v: unknown): number => {
  if (v === undefined || v === null) return 1;
  if (typeof v === 'number' || typeof v === 'bigint') return 2;
  if (typeof v === 'object' && '_bsontype' in v && NUMERIC.has(String((v as { _bsontype: unknown })._bsontype))) return 2;
  if (typeof v === 'string') return 3;
  if (isPlainObject(v)) return 4;
  if (Array.isArray(v)) return 5;
  if (v instanceof Binary) return 6;
  if (v instanceof ObjectId) return 7;
  if (typeof v === 'boolean') return 8;
  if (v instanceof Date) return 9;
  return 10;
};

const toNumber = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && v !== null) return Number(String(hasBsonType(v, 'Long') ? v.toString() : (v as { valueOf(): unknown }).valueOf()));
  return Number.NaN;
};

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

export const compareValues = (a: unknown, b: unknown): number => {
  const ca = typeClass(a);
  const cb = typeClass(b);
  if (ca !== cb) return sign(ca - cb);
  switch (ca) {
    case 1:
      return 0;
    case 2:
      return sign(toNumber(a) - toNumber(b));
    case 3: // MongoDB's simple collation compares UTF-8 bytes, as SQLite's BINARY does
      return Buffer.compare(Buffer.from(String(a), 'utf8'), Buffer.from(String(b), 'utf8'));
    case 4: {
      const ea = Object.entries(a as Bson);
      const eb = Object.entries(b as Bson);
      for (let i = 0; i < Math.min(ea.length, eb.length); i += 1) {
        const [ka, va] = ea[i] ?? [];
        const [kb, vb] = eb[i] ?? [];
        const c = compareValues(va, vb) || (ka === kb ? 0 : String(ka) < String(kb) ? -1 : 1);
        if (c) return c;
      }
      return sign(ea.length - eb.length);
    }
    case 5: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      for (let i = 0; i < Math.min(xa.length, xb.length); i += 1) {
        const c = compareValues(xa[i], xb[i]);
        if (c) return c;
      }
      return sign(xa.length - xb.length);
    }
    case 6:
      return Buffer.compare(Buffer.from((a as Binary).buffer), Buffer.from((b as Binary).buffer));
    case 7:
      return (a as ObjectId).toHexString() < (b as ObjectId).toHexString() ? -1 : (a as ObjectId).equals(b as ObjectId) ? 0 : 1;
    case 8:
      return sign(Number(a) - Number(b));
    case 9:
      return sign((a as Date).getTime() - (b as Date).getTime());
    default:
      throw new CommandError(2, 'BadValue', 'stand-in: comparison of this BSON type is not supported');
  }
};

export const valuesEqual = (a: unknown, b: unknown): boolean => compareValues(a, b) === 0;

/** Deep copy through BSON, so stored documents never share objects with requests or replies. */
export const clone = <T extends Bson>(doc: T): Bson => BSON.deserialize(BSON.serialize(doc));
const cloneValue = (v: unknown): unknown => clone({ v })['v'];

/** The identity of an _id for uniqueness: numbers compare by value, like MongoDB's _id index. */
export const idKey = (id: unknown): string => {
  if (typeClass(id) === 2) return `n:${toNumber(id)}`;
  if (typeof id === 'string') return `s:${id}`;
  return `b:${Buffer.from(BSON.serialize({ id })).toString('hex')}`;
};

export const getPath = (doc: Bson, path: string): unknown => {
  let v: unknown = doc;
  for (const part of path.split('.')) {
    if (!isPlainObject(v)) return undefined;
    v = v[part];
  }
  return v;
};

const setPath = (doc: Bson, path: string, value: unknown): void => {
  const parts = path.split('.');
  let node: Bson = doc;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) node[part] = {};
    else if (!isPlainObject(next)) throw new CommandError(28, 'PathNotViable', `Cannot create field in element {${part}: ...}`);
    node = node[part] as Bson;
  }
  node[parts[parts.length - 1] ?? ''] = value;
};

const unsetPath = (doc: Bson, path: string): void => {
  const parts = path.split('.');
  let node: unknown = doc;
  for (const part of parts.slice(0, -1)) node = isPlainObject(node) ? node[part] : undefined;
  if (isPlainObject(node)) delete node[parts[parts.length - 1] ?? ''];
};

export const isOperatorDoc = (v: unknown): v is Bson => {
  if (!isPlainObject(v)) return false;
  const first = Object.keys(v)[0];
  return first?.startsWith('$') ?? false;
};

const asFilters = (v: unknown, op: string): Bson[] => {
  if (!Array.isArray(v) || v.length === 0 || !v.every(isPlainObject)) {
    throw new CommandError(2, 'BadValue', `${op} argument must be a non-empty array of objects`);
  }
  return v;
};

export const matches = (doc: Bson, filter: Bson): boolean =>
  Object.entries(filter).every(([key, cond]) => {
    if (key === '$and') return asFilters(cond, key).every((f) => matches(doc, f));
    if (key === '$or') return asFilters(cond, key).some((f) => matches(doc, f));
    if (key === '$nor') return !asFilters(cond, key).some((f) => matches(doc, f));
    if (key.startsWith('$')) throw new CommandError(2, 'BadValue', `unknown top level operator: ${key}`);
    const value = getPath(doc, key);
    if (isOperatorDoc(cond)) return Object.entries(cond).every(([op, arg]) => matchOp(value, op, arg));
    return matchEq(value, cond);
  });

const matchEq = (value: unknown, arg: unknown): boolean => {
  if (arg === null) return value === null || value === undefined;
  if (value === undefined) return false;
  if (Array.isArray(value) && !Array.isArray(arg)) return value.some((v) => valuesEqual(v, arg));
  return valuesEqual(value, arg);
};

/** Comparison operators only match values of the same type class ("type bracketing"). */
const matchCompare = (value: unknown, op: string, arg: unknown): boolean => {
  if (arg === null) return (op === '$gte' || op === '$lte') && (value === null || value === undefined);
  if (value === undefined) return false;
  const test = (c: number): boolean => (op === '$gt' ? c > 0 : op === '$gte' ? c >= 0 : op === '$lt' ? c < 0 : c <= 0);
  const candidates = Array.isArray(value) && !Array.isArray(arg) ? value : [value];
  return candidates.some((v) => typeClass(v) === typeClass(arg) && test(compareValues(v, arg)));
};

const matchOp = (value: unknown, op: string, arg: unknown): boolean => {
  switch (op) {
    case '$eq':
      return matchEq(value, arg);
    case '$ne':
      return !matchEq(value, arg);
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      return matchCompare(value, op, arg);
    case '$exists':
      return (value !== undefined) === Boolean(arg);
    case '$in':
    case '$nin': {
      if (!Array.isArray(arg)) throw new CommandError(2, 'BadValue', `${op} needs an array`);
      const found = arg.some((a) => matchEq(value, a));
      return op === '$in' ? found : !found;
    }
    default:
      throw new CommandError(2, 'BadValue', `stand-in: unknown operator: ${op}`);
  }
};

export const sortDocs = (docs: Bson[], sort: Bson | undefined): Bson[] => {
  if (!sort || Object.keys(sort).length === 0) return docs;
  const keys = Object.entries(sort).map(([path, dir]) => {
    const d = toNumber(dir);
    if (d !== 1 && d !== -1) throw new CommandError(2, 'BadValue', 'stand-in: only 1/-1 sorts are supported');
    return { path, d };
  });
  return [...docs].sort((a, b) => {
    for (const { path, d } of keys) {
      const c = compareValues(getPath(a, path) ?? null, getPath(b, path) ?? null);
      if (c) return c * d;
    }
    return 0;
  });
};

/** The document an upsert starts from: the filter's equality conditions (top level and inside $and). */
export const upsertSeed = (filter: Bson, seed: Bson = {}): Bson => {
  for (const [key, cond] of Object.entries(filter)) {
    if (key === '$and') for (const f of asFilters(cond, key)) upsertSeed(f, seed);
    else if (key.startsWith('$')) continue;
    else if (isOperatorDoc(cond)) {
      if ('$eq' in cond) setPath(seed, key, cloneValue(cond['$eq']));
    } else setPath(seed, key, cloneValue(cond));
  }
  return seed;
};

/** Applies a replacement or an operator update to a copy of `doc`; `_id` is immutable. */
export const applyUpdate = (doc: Bson, update: unknown, isInsert: boolean): Bson => {
  if (!isPlainObject(update)) throw new CommandError(9, 'FailedToParse', 'stand-in: only document updates are supported (no pipelines)');
  const keys = Object.keys(update);
  let next: Bson;
  if (keys.length === 0 || keys.every((k) => !k.startsWith('$'))) {
    next = { ...(doc['_id'] !== undefined ? { _id: doc['_id'] } : {}), ...clone(update) };
    if (doc['_id'] !== undefined) next['_id'] = update['_id'] ?? doc['_id'];
  } else {
    next = clone(doc);
    for (const [op, fields] of Object.entries(update)) {
      if (!isPlainObject(fields)) throw new CommandError(9, 'FailedToParse', `${op} needs a document`);
      for (const [path, v] of Object.entries(fields)) {
        const current = getPath(next, path);
        switch (op) {
          case '$set':
            setPath(next, path, cloneValue(v));
            break;
          case '$setOnInsert':
            if (isInsert) setPath(next, path, cloneValue(v));
            break;
          case '$unset':
            unsetPath(next, path);
            break;
          case '$inc':
            if (current !== undefined && typeClass(current) !== 2) throw new CommandError(14, 'TypeMismatch', `Cannot apply $inc to ${path}`);
            setPath(next, path, (current === undefined ? 0 : toNumber(current)) + toNumber(v));
            break;
          case '$max':
          case '$min':
            if (current === undefined || compareValues(v, current) * (op === '$max' ? 1 : -1) > 0) setPath(next, path, cloneValue(v));
            break;
          default:
            throw new CommandError(9, 'FailedToParse', `stand-in: unknown update operator ${op}`);
        }
      }
    }
  }
  if (doc['_id'] !== undefined && !valuesEqual(next['_id'], doc['_id'])) {
    throw new CommandError(66, 'ImmutableField', "Performing an update on the path '_id' would modify the immutable field '_id'");
  }
  return next;
};
