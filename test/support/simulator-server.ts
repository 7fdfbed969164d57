/**
 * One in-process simulator as an HTTP server for a test file: started before its tests, closed after
 * them. Each file resets the faults it set in its own afterEach.
 */
import { afterAll, beforeAll } from 'vitest';
import {
  startSimulatorServers,
  type SimulatorKind,
  type SimulatorServers,
  type StartSimulatorServersOptions,
} from '../../integrations/simulators/http-server.ts';

export type SimulatorServer<K extends SimulatorKind> = {
  /** Where it listens. */
  readonly url: string;
  /** Its core, to set faults and inspect it directly. */
  readonly sim: NonNullable<SimulatorServers[K]>;
};

export const simulatorServer = <K extends SimulatorKind>(kind: K, opts: Omit<StartSimulatorServersOptions, 'kinds'> = {}): SimulatorServer<K> => {
  let servers: SimulatorServers | undefined;
  beforeAll(async () => {
    servers = await startSimulatorServers({ ...opts, kinds: [kind] });
  });
  afterAll(() => servers?.close());
  const started = () => {
    if (!servers) throw new Error(`the ${kind} simulator starts in beforeAll: use it inside a test`);
    return servers;
  };
  return {
    get url() {
      const url = started().urls[kind];
      if (!url) throw new Error(`the ${kind} simulator has no URL`);
      return url;
    },
    get sim() {
      const sim = started()[kind];
      if (!sim) throw new Error(`the ${kind} simulator did not start`);
      return sim as NonNullable<SimulatorServers[K]>;
    },
  };
};
