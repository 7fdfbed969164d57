/**
 * `npm run rewrap-keys`: the second half of a master-key rotation (docs/privacy.md). With the new
 * secret first in DATA_KEY_SECRET and the old ones after it, every subscriber's data key not yet
 * wrapped by the first is unwrapped with its own and wrapped again with the first. Afterwards the old
 * secrets can leave the list. Safe while the service runs (each key is replaced only if unchanged).
 */
import { masterKey } from '../commands/personal-data.ts';
import { loadConfig } from '../app/config.ts';
import { privacyConfigOf } from '../app/stores.ts';
import { EXIT, EXIT_CODES_HELP, defineScript, printReport, runScript } from './cli.ts';
import { openExistingPersonalData, openLogStore } from './log-store.ts';

type Rewrapped = { rewrapped: number; masterKeyId: string };

export const rewrapKeysScript = defineScript({
  name: 'rewrap-keys',
  usage: `npm run rewrap-keys -- [--json]

Wraps every subscriber's data key with the first entry of DATA_KEY_SECRET (the key store: MONGODB_URL,
or DATA_KEYS_FILE / DATA_DIR/keys.db). Run it after putting a new secret first in the list; then the
other entries can be removed (docs/privacy.md). Safe while the service runs.

  --json     the count and the master key's id as JSON
  --help

${EXIT_CODES_HELP}`,
  options: {},
  main: async ({ json }, io) => {
    const config = loadConfig(io.env);
    const store = await openLogStore(config);
    try {
      const { personalData, keys } = await openExistingPersonalData(config, store);
      try {
        const { rewrapped } = await personalData.rewrapAll();
        const first = privacyConfigOf(config).dataKeySecrets[0];
        const report: Rewrapped = { rewrapped, masterKeyId: first ? masterKey(first).id : '?' };
        printReport(
          io,
          report,
          json,
          (r) =>
            `rewrapped ${r.rewrapped} data key(s): every key is wrapped by master key ${r.masterKeyId}; the other DATA_KEY_SECRET entries are no longer needed\n`,
        );
        return EXIT.ok;
      } finally {
        await keys.close();
      }
    } finally {
      await store.close();
    }
  },
});

runScript(rewrapKeysScript, import.meta.url);
