/** Runs a script's main: its exit code, or 1 with a one-line reason (no stack) on failure. */
import { ConfigError } from '../http/config.ts';

export const runCli = (name: string, main: () => Promise<number>): void => {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`\n${name}: ${err instanceof ConfigError ? 'configuration: ' : ''}${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
};
