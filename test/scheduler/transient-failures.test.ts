/**
 * Issue 28 item 3, through the scheduler on a real Elasticsearch:
 * - a window whose job cannot reach Elasticsearch (a real connection refused: the job's client
 *   points at a closed port) is retried at every pass, more passes than `maxAttempts`, without
 *   being settled `failed`, and the checkpoint does not move past it; once the job succeeds the
 *   window is done and the checkpoint moves on;
 * - a failure retrying cannot fix (a 400 from Elasticsearch) still settles after `maxAttempts`;
 * - the hook fires once, after the window's result is committed: the webhook (a real HTTP
 *   server) reads the window's state when called and finds it done.
 */
import { createServer, type Server } from 'node:http';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/schema/config.js';
import { STATE_INDEX } from '../../src/schema/streams.js';
import { defaultJobRegistry } from '../../src/scheduler/index.js';
import { createJsonLogger } from '../../src/scheduler/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { checkpointId, windowStateId, type JobTarget, type WindowState } from '../../src/scheduler/state.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';

const HOUR = 3_600_000;
const client = testClient();
const namespace = uniqueNamespace('transient');
const start = alignDown(Date.now(), HOUR) - 2 * HOUR;
let server: Server;
let hookUrl = '';
const hookSawState: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      // Which window the hook is about, and what its state is when the hook is called.
      const payload = JSON.parse(body) as { model: { name: string }; window: { start: string } };
      const target: JobTarget = {
        job: 'service',
        model: { name: payload.model.name, version: '1' },
        namespace,
      };
      client
        .get<WindowState>({ index: STATE_INDEX, id: windowStateId(target, new Date(payload.window.start)) })
        .then(
          (doc) => doc._source?.state.kind ?? 'absent',
          () => 'absent',
        )
        .then((kind) => hookSawState.push(`${payload.window.start} ${kind}`))
        .finally(() => res.end('ok'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
});

afterAll(async () => {
  server.close();
  await client
    .deleteByQuery({
      index: STATE_INDEX,
      query: { term: { 'state.namespace': namespace } },
      refresh: true,
      conflicts: 'proceed',
    })
    .catch(() => undefined);
  await client.close();
});

function scheduler(model: string, job: () => Promise<void>) {
  const config = validateConfig(
    {
      namespace,
      scheduler: { owner: 'transient', lockTtl: '60s', maxAttempts: 2 },
      models: [
        {
          name: model,
          versions: ['1'],
          window: '1h',
          delay: '0s',
          start: new Date(start).toISOString(),
          // two windows: [start, start + 1 h) and the next, which ends before now
          jobs: ['service'],
          hooks: [{ name: 'retrain', on: ['drift.detected'], webhook: { url: hookUrl } }],
        },
      ],
    },
    { env: {} },
  );
  const registry = defaultJobRegistry().replace('service', async (ctx) => {
    await job();
    return {
      documents: [
        {
          stream: `metrics-mlmon.drift-${namespace}`,
          id: `${ctx.model.name}-${ctx.window.start.toISOString()}`,
          document: { drift: { detected: true } },
        },
      ],
    };
  });
  const s = new Scheduler({
    config,
    client,
    registry,
    log: createJsonLogger({ write: () => true } as unknown as NodeJS.WritableStream, { level: 'error' }),
  });
  const modelConfig = s['options'].config.models[0]!;
  return { pass: () => s.runModelPass(modelConfig, Date.now()) };
}

async function windowState(model: string): Promise<WindowState['state'] | undefined> {
  const target: JobTarget = { job: 'service', model: { name: model, version: '1' }, namespace };
  const doc = await client.get<WindowState>(
    { index: STATE_INDEX, id: windowStateId(target, new Date(start)) },
    { ignore: [404] },
  );
  return doc._source?.state;
}

async function checkpoint(model: string): Promise<number | undefined> {
  const target: JobTarget = { job: 'service', model: { name: model, version: '1' }, namespace };
  const doc = await client.get<{ state: { checkpoint?: string } }>(
    { index: STATE_INDEX, id: checkpointId(target) },
    { ignore: [404] },
  );
  const at = doc._source?.state.checkpoint;
  return at ? Date.parse(at) : undefined;
}

describe('transient failures', () => {
  it(
    'Elasticsearch unreachable for more passes than maxAttempts: retried, never failed, checkpoint held; hook fires once after commit',
    { timeout: 300_000 },
    async () => {
      const unreachable = new Client({ node: 'http://127.0.0.1:9', maxRetries: 0, requestTimeout: 5000 });
      let down = true;
      const s = scheduler('flaky', async () => {
        if (down) await unreachable.search({ index: 'x' });
      });
      // maxAttempts is 2; four passes while the job cannot reach Elasticsearch.
      for (let pass = 0; pass < 4; pass++) {
        await s.pass();
        const state = await windowState('flaky');
        expect(state?.kind).toBe('lock');
        expect(state?.detail.lastError).toMatch(/ECONNREFUSED|connect/i);
        expect((await checkpoint('flaky')) ?? start).toBeLessThanOrEqual(start);
      }
      expect(hookSawState).toEqual([]);
      down = false;
      await s.pass();
      expect((await windowState('flaky'))?.kind).toBe('window');
      expect(await checkpoint('flaky')).toBeGreaterThanOrEqual(start + HOUR);
      // The hook fired once per window, and each window was already done when it did.
      const second = new Date(start + HOUR).toISOString();
      expect(hookSawState.sort()).toEqual([`${new Date(start).toISOString()} window`, `${second} window`]);
      await unreachable.close();
    },
  );

  it(
    'a failure retrying cannot fix (400) settles the window failed after maxAttempts',
    { timeout: 300_000 },
    async () => {
      const s = scheduler('broken', async () => {
        // A real 400: a range aggregation on a field that is not numeric.
        await client.search({
          index: STATE_INDEX,
          size: 0,
          aggs: { r: { range: { field: 'state.kind', ranges: [{ to: 1 }] } } },
        });
      });
      await s.pass();
      expect((await windowState('broken'))?.kind).toBe('lock');
      await s.pass();
      expect((await windowState('broken'))?.kind).toBe('failed');
    },
  );
});
