/**
 * `npm start`: the service, configured from the environment (API.md, "Configuration").
 * SIGTERM / SIGINT: stop taking requests, finish in-flight work, commit checkpoints, exit 0; a stop that
 * cannot finish within the deadline exits 70. A bad configuration (the environment, the catalog, the
 * SMS templates) exits 78 before anything is opened; a store or port that cannot be had exits 69.
 */
import { ConfigError, loadConfig } from '../app/config.ts';
import { compose, type Service } from '../app/service.ts';
import { createLogger } from '../http/logger.ts';
import { EXIT, EXIT_CODES_HELP, defineScript, runScript, unavailable } from './cli.ts';

const SHUTDOWN_DEADLINE_MS = 25_000;

export const startScript = defineScript({
  name: 'tvpay-ledger',
  usage: `npm start   (node dist/scripts/start.js in the image)

Runs the service: the HTTP API, the projections, the outbound task worker and the daily seal,
configured from the environment (.env.example lists every variable; API.md, "Configuration").
SIGTERM or SIGINT: stops taking requests, finishes in-flight work, commits checkpoints and exits 0,
or exits 70 after ${SHUTDOWN_DEADLINE_MS / 1000} s if it cannot.

  --help

${EXIT_CODES_HELP}`,
  options: {},
  json: false,
  main: async (_values, io) => {
    const config = loadConfig(io.env);
    const logger = createLogger(config.logLevel);
    if (config.devTokens) {
      logger.warn('API_TOKENS is not set: using the documented dev tokens (see README); never do this in production');
    }
    let service: Service;
    try {
      service = await compose(config, logger);
      await service.serve({ port: config.port, host: config.host });
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw unavailable(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
    }
    // Runs until a signal: the handlers below end the process.
    return new Promise<number>(() => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        // A stop that cannot finish (a partner that never answers) still ends: what is not
        // committed by then is redone after the restart, like after a crash.
        setTimeout(() => {
          logger.error({ afterMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
          process.exit(EXIT.internal);
        }, SHUTDOWN_DEADLINE_MS).unref();
        service.close().then(
          () => {
            logger.info('stopped');
            process.exit(EXIT.ok);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(EXIT.internal);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
  },
});

runScript(startScript, import.meta.url);
