/**
 * The logger where services run (issue 25, items 1 and 2), with real child processes:
 *
 * - A container restart: a service logs while Elasticsearch is unreachable, is SIGKILLed, and
 *   starts again on the same spool volume. Both runs are pid 1 of a pid namespace of their own
 *   (`unshare --fork --pid --mount-proc`), as in a container; on main the second run took the
 *   first's lock (pid 1, alive: itself) for a live owner and delivered none of its files.
 * - A rolling deploy: SIGTERM to a service with no handler of its own; on main the memory buffer
 *   was lost (Node's default SIGTERM does not emit 'exit'). And a service with its own handler
 *   still runs it (close() delivers, then exit 0).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictionLogger } from '../../src/logger/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, ensureTemplates, tempSpoolDir } from './helpers.js';

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
/** Nothing listens on the discard port: connection refused, an unreachable Elasticsearch. */
const UNREACHABLE = 'http://127.0.0.1:9';
const CHILD = fileURLToPath(new URL('./service-child.ts', import.meta.url));
/** Whether this machine lets us make pid namespaces (root, or user namespaces allowed). */
const canUnshare = spawnSync('unshare', ['--fork', '--pid', '--mount-proc', 'true']).status === 0;

beforeAll(async () => {
  await ensureTemplates(client);
});

afterAll(async () => {
  await client.close();
});

interface Run {
  out: () => string;
  waitFor: (marker: string) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: (signal: NodeJS.Signals) => void;
}

/** Starts service-child.ts, as pid 1 of a new pid namespace when `pid1`. */
function run(args: string[], pid1: boolean): Run {
  const node = [process.execPath, '--import', 'tsx', CHILD, ...args];
  // --kill-child: when unshare dies (SIGKILL included), the kernel kills its child, our pid 1.
  const child = pid1
    ? spawn('unshare', ['--fork', '--pid', '--mount-proc', '--kill-child', ...node], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(node[0] as string, node.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    out: () => out,
    exited,
    kill: (signal) => child.kill(signal),
    waitFor: (marker) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out.includes(`\n${marker}`) || out.startsWith(marker)) resolve();
        };
        child.stdout.on('data', check);
        check();
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (${code ?? signal}) before ${marker}: ${out.slice(-500)}`)),
        );
      }),
  };
}

const line = (out: string, key: string) => new RegExp(`(?:^|\\n)${key} (.*)\\n`).exec(out)?.[1] ?? '';
const idsOf = (out: string) => JSON.parse(line(out, 'IDS') || '[]') as string[];
const spoolLines = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .reduce((n, f) => n + readFileSync(join(dir, f), 'utf8').split('\n').length - 1, 0);

describe('a container restart on the same spool volume', () => {
  it.skipIf(!canUnshare)(
    'pid 1 twice: the restarted service delivers every spooled event exactly once',
    async () => {
      const ns = uniqueNamespace('restart');
      const dir = tempSpoolDir('restart');
      const count = 3000;
      const staleMs = 3000;
      const first = run(['spool', UNREACHABLE, ns, dir, String(count), String(staleMs)], true);
      await first.waitFor('READY');
      expect(line(first.out(), 'PID')).toBe('1');
      first.kill('SIGKILL');
      await first.exited;
      const spooledIds = idsOf(first.out());
      expect(spooledIds).toHaveLength(count);
      expect(spoolLines(dir)).toBe(count); // all 3,000 on disk, as the reproduction

      const second = run(['deliver', esUrl(), ns, dir, '100', String(staleMs)], true);
      await second.waitFor('RESULT');
      expect(line(second.out(), 'PID')).toBe('1');
      const result = JSON.parse(line(second.out(), 'RESULT')) as Record<string, unknown>;
      // 3,000 read back from the first run's files, 100 of its own, nothing left anywhere.
      expect(result).toMatchObject({ recovered: count, indexed: count + 100, dropped: 0, pending: 0 });
      expect(readdirSync(dir).filter((f) => f.endsWith('.ndjson'))).toEqual([]);
      const stored = await countsById(client, `logs-mlmon.prediction-${ns}`);
      expect(compareIds([...spooledIds, ...idsOf(second.out())], stored)).toEqual({
        missing: [],
        duplicated: [],
        unexpected: [],
      });
    },
    240_000,
  );

  it('a live replica on the same volume keeps its files; close() counts what others hold', async () => {
    // Two loggers in this process stand in for two replicas: same directory, both alive.
    const dir = tempSpoolDir('replica');
    const ns = uniqueNamespace('replica');
    const a = createPredictionLogger({
      node: UNREACHABLE,
      namespace: ns,
      model: { name: 'replica' },
      spool: { dir, staleMs: 2000 },
      flushIntervalMs: 50,
      onWarning: () => {},
    });
    for (let i = 0; i < 50; i++) a.logPrediction({ features: { i }, prediction: { value: i } });
    while (a.counters.spooled < 50) await new Promise((r) => setTimeout(r, 50));
    const b = createPredictionLogger({
      node: esUrl(),
      namespace: ns,
      model: { name: 'replica' },
      spool: { dir, staleMs: 2000 },
      onWarning: () => {},
    });
    // Longer than staleMs: a's heartbeat keeps its files its own.
    await new Promise((r) => setTimeout(r, 3500));
    const closedB = await b.close();
    expect(closedB).toMatchObject({ recovered: 0, pending: 0, elsewhere: 50 });
    const closedA = await a.close({ timeoutMs: 100 });
    expect(closedA).toMatchObject({ spooled: 50, pending: 50 });
  }, 60_000);
});

describe('SIGTERM', () => {
  it('without a handler of the application: the buffer goes to the spool and the signal still ends the process', async () => {
    const ns = uniqueNamespace('sigterm');
    const dir = tempSpoolDir('sigterm');
    const count = 500;
    const child = run(['buffer', esUrl(), ns, dir, String(count)], false);
    await child.waitFor('READY');
    child.kill('SIGTERM');
    // Ended by the signal, as without us: not an exit code of our making.
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(spoolLines(dir)).toBe(count);
    const logger = createPredictionLogger({
      node: esUrl(),
      namespace: ns,
      model: { name: 'service' },
      spool: { dir },
      onWarning: () => {},
    });
    expect(await logger.flush(60_000)).toBe(true);
    expect(await logger.close()).toMatchObject({ recovered: count, indexed: count, pending: 0 });
    const stored = await countsById(client, `logs-mlmon.prediction-${ns}`);
    expect(compareIds(idsOf(child.out()), stored)).toEqual({ missing: [], duplicated: [], unexpected: [] });
  }, 120_000);

  it("with the application's own handler: it runs (close() delivers), and decides the exit", async () => {
    const ns = uniqueNamespace('sigtermapp');
    const dir = tempSpoolDir('sigterm-app');
    const count = 200;
    const child = run(['buffer', esUrl(), ns, dir, String(count), 'handler'], false);
    await child.waitFor('READY');
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.out()).toContain('\nHANDLER\n');
    expect(JSON.parse(line(child.out(), 'RESULT'))).toMatchObject({ indexed: count, pending: 0 });
    const stored = await countsById(client, `logs-mlmon.prediction-${ns}`);
    expect(compareIds(idsOf(child.out()), stored)).toEqual({ missing: [], duplicated: [], unexpected: [] });
  }, 120_000);

  it('eleven loggers add one hook, not eleven: no MaxListeners warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const before = process.listenerCount('exit') + process.listenerCount('SIGTERM');
    const loggers = Array.from({ length: 11 }, () =>
      createPredictionLogger({ node: esUrl(), model: { name: 'many' }, spool: false, onWarning: () => {} }),
    );
    expect(process.listenerCount('exit') + process.listenerCount('SIGTERM')).toBeLessThanOrEqual(before + 2);
    await Promise.all(loggers.map((l) => l.close()));
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings.filter((w) => w === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
