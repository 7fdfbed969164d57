/**
 * `npm start`: the service, configured from the environment (API.md, "Configuration").
 * SIGTERM / SIGINT: stop taking requests, finish in-flight work, commit checkpoints, exit.
 */
import { ConfigError, loadConfig } from '../app/config.ts';
import { compose } from '../app/service.ts';
import { createLogger } from '../http/logger.ts';

const SHUTDOWN_DEADLINE_MS = 25_000;

const main = async (): Promise<void> => {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tvpay-ledger: configuration: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (config.devTokens) {
    logger.warn('API_TOKENS is not set: using the documented dev tokens (see README); never do this in production');
  }
  const service = await compose(config, logger);
  await service.serve({ port: config.port, host: config.host });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // A stop that cannot finish (a partner that never answers) still ends: what is not
    // committed by then is redone after the restart, like after a crash.
    setTimeout(() => {
      logger.error({ afterMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    service.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
};

main().catch((err: unknown) => {
  process.stderr.write(`tvpay-ledger: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
