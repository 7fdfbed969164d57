/**
 * Reading fields back from read-model documents, which come out of the store as
 * plain JSON. A missing or mistyped field is a projection bug, so it throws.
 */
import type { Doc } from '../stores/read-store.ts';

export class MalformedDoc extends Error {
  override readonly name = 'MalformedDoc';
}

export const str = (doc: Doc, key: string): string => {
  const v = doc[key];
  if (typeof v !== 'string') throw new MalformedDoc(`${doc.id}.${key} is not a string`);
  return v;
};

export const optStr = (doc: Doc, key: string): string | undefined => {
  const v = doc[key];
  return typeof v === 'string' ? v : undefined;
};

export const num = (doc: Doc, key: string): number => {
  const v = doc[key];
  if (typeof v !== 'number') throw new MalformedDoc(`${doc.id}.${key} is not a number`);
  return v;
};

export const strings = (doc: Doc, key: string): string[] => {
  const v = doc[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new MalformedDoc(`${doc.id}.${key} is not a list of strings`);
  return v;
};

/** A list of records, each with the given string fields. */
export const records = <K extends string>(doc: Doc | null, key: string, fields: readonly K[]): Record<K, string>[] => {
  if (!doc) return [];
  const v = doc[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new MalformedDoc(`${doc.id}.${key} is not a list`);
  return v.map((item, i) => {
    if (typeof item !== 'object' || item === null) throw new MalformedDoc(`${doc.id}.${key}[${i}] is not a record`);
    const out = {} as Record<K, string>;
    for (const f of fields) {
      const x: unknown = (item as Record<string, unknown>)[f];
      if (typeof x !== 'string') throw new MalformedDoc(`${doc.id}.${key}[${i}].${f} is not a string`);
      out[f] = x;
    }
    return out;
  });
};

/** A string field that must be one of the given values. */
export const oneOf = <T extends string>(doc: Doc, key: string, values: readonly T[]): T => {
  const v = str(doc, key);
  const found = values.find((x) => x === v);
  if (found === undefined) throw new MalformedDoc(`${doc.id}.${key} is not one of ${values.join(', ')}`);
  return found;
};
