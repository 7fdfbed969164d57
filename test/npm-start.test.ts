/**
 * `npm start` is how a fresh clone runs the service, and how process managers often run it: a
 * SIGTERM sent to npm must stop the node process too (npm forwards it; the script `exec`s node, so
 * no shell stands between them and swallows it), and the service must shut down cleanly.
 */
import { afterAll, expect, it } from 'vitest';
import { freePort, killAll, spawnProcess, tempDir } from './e2e/processes.ts';
import { serviceReady } from './e2e/service.ts';
import { waitUntil } from './e2e/../support/wait.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let nodePid: number | undefined;
const data = tempDir('tvpay-npm-start-');

afterAll(async () => {
  await killAll();
  // Only if the test failed with the service orphaned: that process is this test's own.
  if (nodePid !== undefined && alive(nodePid)) process.kill(nodePid, 'SIGKILL');
  data.remove();
});

it('SIGTERM to `npm start` reaches node: the service drains and exits, then npm exits 0; no process is left behind', async () => {
  const port = await freePort();
  const npm = spawnProcess('npm start', 'npm', ['start', '--silent'], {
    env: { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: data.path, LOG_LEVEL: 'info' },
  });
  await serviceReady(npm, `http://127.0.0.1:${port}`);
  // Every pino line carries the pid of the process that wrote it: the service's node.
  const pid = Number(/"pid":(\d+)/.exec(npm.output())?.[1]);
  expect(pid, npm.output()).toBeGreaterThan(0);
  nodePid = pid;
  expect(pid).not.toBe(npm.proc.pid);

  const ended = await npm.stop(40_000);
  expect(ended, npm.output()).toEqual({ code: 0, signal: null });
  expect(npm.output()).toContain('"msg":"stopped"');
  await waitUntil(() => !alive(pid), `node (pid ${pid}) to be gone`, { timeoutMs: 5_000 });
});
