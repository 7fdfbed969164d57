/**
 * `npm run rewrap-keys`: the second half of a master-key rotation (docs/privacy.md). With the new
 * secret first in DATA_KEY_SECRET and the old ones after it, every subscriber's data key not yet
 * wrapped by the first is unwrapped with its own and wrapped again with the first. Afterwards the old
 * secrets can leave the list. Safe while the service runs (each key is replaced only if unchanged).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { masterKey } from '../commands/personal-data.ts';
import { loadConfig } from '../app/config.ts';
import { privacyConfigOf } from '../app/stores.ts';
import { openPersonalData } from '../app/privacy.ts';
import { openEsdbEventStore } from '../stores/esdb/event-store.ts';
import { openSqliteEventStore } from '../stores/sqlite/event-store.ts';
import { runCli } from './cli.ts';

const USAGE = `usage: npm run rewrap-keys

Wraps every subscriber's data key with the first entry of DATA_KEY_SECRET (the key store: MONGODB_URL,
or DATA_KEYS_FILE / DATA_DIR/keys.db). Run it after putting a new secret first in the list; then the
other entries can be removed.
`;

const main = async (): Promise<number> => {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { help: { type: 'boolean', default: false } }, strict: true });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const config = loadConfig(process.env);
  const privacy = privacyConfigOf(config);
  const store = config.eventstoreUrl ? await openEsdbEventStore(config.eventstoreUrl) : await openSqliteEventStore(join(config.dataDir, 'events.db'));
  const { personalData, keys } = await openPersonalData(privacy, store, () => new Date());
  try {
    const { rewrapped } = await personalData.rewrapAll();
    const first = privacy.dataKeySecrets[0];
    process.stdout.write(`rewrapped ${rewrapped} data key(s): every key is wrapped by master key ${first ? masterKey(first).id : '?'}; the other DATA_KEY_SECRET entries are no longer needed\n`);
    return 0;
  } finally {
    await keys.close();
    await store.close();
  }
};

runCli('rewrap-keys', main);
