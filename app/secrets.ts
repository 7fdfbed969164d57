/** Secrets the service needs that an operator may leave to it outside production. */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';

/** Outside production a secret not configured is generated once per data dir and kept there (mode 0600). */
export const generatedSecret = (dataDir: string, name: string): string => {
  const file = join(dataDir, name);
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

export const codeSecretFor = (config: Pick<Config, 'codeSecret' | 'dataDir'>): string => config.codeSecret ?? generatedSecret(config.dataDir, 'code-secret');

/** The file in the data dir that keeps a generated master secret for the data keys. */
export const DATA_KEY_SECRET_FILE = 'data-key-secret';

/** What wraps the data keys (docs/privacy.md): DATA_KEY_SECRET, or outside production one kept in the data dir. */
export const dataKeySecretsFor = (config: Pick<Config, 'dataKeySecrets' | 'dataDir'>): readonly string[] =>
  config.dataKeySecrets ?? [generatedSecret(config.dataDir, DATA_KEY_SECRET_FILE)];
