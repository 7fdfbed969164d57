/** Secrets the service needs that an operator may leave to it outside production. */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';

/** Outside production the code secret is generated once per data dir and kept there (mode 0600). */
export const codeSecretFor = (config: Pick<Config, 'codeSecret' | 'dataDir'>): string => {
  if (config.codeSecret) return config.codeSecret;
  const file = join(config.dataDir, 'code-secret');
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process on the same data directory wrote it first: use theirs.
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) throw err;
    }
  }
  return readFileSync(file, 'utf8').trim();
};
