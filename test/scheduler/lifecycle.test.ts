/**
 * Window life cycle with the real `mlmon-state` index, in process: a shutdown releases the window
 * in progress to the next replica; a failing job is retried and then settled as failed so the
 * checkpoint moves on; catch-up beyond `maxCatchUp` skips the oldest windows and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { validateConfig } from '../../src/schema/config.js';
import type { WindowJob } from '../../src/scheduler/jobs/contract.js';
import { JobRegistry } from '../../src/scheduler/jobs/registry.js';
import { createJsonLogger, parseLogLines } from '../../src/scheduler/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { checkpointId, type JobTarget } from '../../src/scheduler/state.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { checkpointOf, windowStates } from './helpers.js';

// Hour windows: the clock crossing a window boundary during a test is then practically impossible.
const W = 3_600_000;

function memoryLog(owner: string) {
  let text = '';
  const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
  return {
    log: createJsonLogger(out, { level: 'debug', fields: { owner } }),
    records: () => parseLogLines(text),
  };
}

describe('window life cycle', () => {
  const client = testClient();
  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await client.close();
  });

  const configFor = (
    namespace: string,
    owner: string,
    start: number,
    scheduler: Record<string, unknown> = {},
  ) =>
    validateConfig(
      {
        namespace,
        scheduler: { owner, lockTtl: '30s', heartbeat: '1s', ...scheduler },
        models: [{ name: 'm', window: '1h', start: new Date(start).toISOString(), jobs: ['probe'] }],
      },
      { env: {} },
    );

  it('SIGTERM-style shutdown releases the unfinished window; the next replica retries it at once', async () => {
    const namespace = uniqueNamespace('life');
    const target: JobTarget = { job: 'probe', model: { name: 'm' }, namespace };
    const start = alignDown(Date.now(), W) - W; // exactly one due window
    let aborted: unknown;
    let started: () => void = () => undefined;
    const jobStarted = new Promise<void>((r) => (started = r));
    // Runs until aborted, like an analysis that cannot finish within the grace period.
    const endless: WindowJob = (ctx) =>
      new Promise((_, reject) => {
        started();
        ctx.signal.addEventListener('abort', () => {
          aborted = ctx.signal.reason;
          reject(ctx.signal.reason as Error);
        });
      });
    const first = memoryLog('first');
    const a = new Scheduler({
      config: configFor(namespace, 'first', start, { shutdownGrace: '200ms' }),
      client,
      registry: new JobRegistry().register('probe', endless),
      log: first.log,
    });
    const pass = a.runDue();
    await jobStarted;
    await a.shutdown('SIGTERM');
    const summary = await pass;
    expect(summary.runs.map((r) => r.outcome)).toEqual(['released']);
    expect((aborted as Error).name).toBe('ShutdownError');
    expect(first.records().find((r) => r['event.action'] === 'lock.released')?.released).toBe(true);
    const [released] = await windowStates(client, target, [start]);
    expect(released?.state.kind).toBe('lock');
    expect(released?.state.detail.released?.by).toBe('first');
    expect(released?.state.detail.attempts).toBe(0);

    // Lock TTL is 30 s, yet the next replica need not wait: the window was handed back.
    const second = memoryLog('second');
    const b = new Scheduler({
      config: configFor(namespace, 'second', start),
      client,
      registry: new JobRegistry().register('probe', async () => ({ documents: [] })),
      log: second.log,
    });
    const again = await b.runDue();
    expect(again.runs.map((r) => r.outcome)).toEqual(['processed']);
    const [done] = await windowStates(client, target, [start]);
    expect(done?.state.kind).toBe('window');
    expect(done?.state.detail.owners.map((o) => [o.owner, o.how])).toEqual([
      ['first', 'acquired'],
      ['second', 'retry'],
    ]);
    expect(done?.state.detail.takeovers).toBe(0);
    expect(await checkpointOf(client, target)).toBe(start + W);
  });

  it('a failing job is retried, then marked failed after maxAttempts and the checkpoint moves on', async () => {
    const namespace = uniqueNamespace('fail');
    const target: JobTarget = { job: 'probe', model: { name: 'm' }, namespace };
    const start = alignDown(Date.now(), W) - 2 * W; // two due windows; the first always fails
    const calls: string[] = [];
    const flaky: WindowJob = async (ctx) => {
      calls.push(ctx.window.start.toISOString());
      if (ctx.window.start.getTime() === start) throw new Error('baseline not found');
      return { documents: [] };
    };
    const { log, records } = memoryLog('solo');
    const scheduler = new Scheduler({
      config: configFor(namespace, 'solo', start, { maxAttempts: 2 }),
      client,
      registry: new JobRegistry().register('probe', flaky),
      log,
    });
    const firstPass = await scheduler.runDue();
    expect(firstPass.runs.map((r) => r.outcome)).toEqual(['failed', 'processed']);
    const [retryable] = await windowStates(client, target, [start]);
    expect(retryable?.state.kind).toBe('lock');
    expect(retryable?.state.detail.lastError).toBe('baseline not found');
    // The checkpoint cannot pass a window that may still succeed.
    expect(await checkpointOf(client, target)).toBeUndefined();

    const secondPass = await scheduler.runDue();
    expect(secondPass.runs.map((r) => r.outcome)).toEqual(['failed']);
    const [failed] = await windowStates(client, target, [start]);
    expect(failed?.state.kind).toBe('failed');
    expect(failed?.state.detail.attempts).toBe(2);
    expect(await checkpointOf(client, target)).toBe(start + 2 * W);
    expect(calls).toEqual(
      [new Date(start), new Date(start + W), new Date(start)].map((d) => d.toISOString()),
    );
    expect(
      records()
        .filter((r) => r['event.action'] === 'window.failed')
        .map((r) => r.retry),
    ).toEqual([true, false]);

    // Settled: a third pass has nothing to do.
    expect((await scheduler.runDue()).runs).toEqual([]);
  });

  it('after a downtime longer than maxCatchUp windows, the oldest are skipped and logged', async () => {
    const namespace = uniqueNamespace('skip');
    const target: JobTarget = { job: 'probe', model: { name: 'm' }, namespace };
    const now = alignDown(Date.now(), W);
    const processed: number[] = [];
    const registry = new JobRegistry().register('probe', async (ctx) => {
      processed.push(ctx.window.start.getTime());
      return { documents: [] };
    });
    // First run: only the latest window (start there), which sets the checkpoint.
    const { log, records } = memoryLog('solo');
    await new Scheduler({
      config: configFor(namespace, 'solo', now - W, { maxCatchUp: 2 }),
      client,
      registry,
      log,
    }).runDue();
    expect(await checkpointOf(client, target)).toBe(now);
    // Pretend the scheduler was down for 5 windows: move the checkpoint back.
    const id = checkpointId(target);
    await client.update({
      index: 'mlmon-state',
      id,
      doc: { state: { checkpoint: new Date(now - 6 * W).toISOString() } },
    });
    processed.length = 0;
    await new Scheduler({
      config: configFor(namespace, 'solo', now - W, { maxCatchUp: 2 }),
      client,
      registry,
      log,
    }).runDue();
    // Due: the 5 windows from now−6W to now−W (the one at now−W is done). Only the 2 newest are kept,
    // one of which is done already.
    const skipped = records().find((r) => r['event.action'] === 'windows.skipped');
    expect(skipped?.skipped).toBe(4);
    expect(processed.map((t) => (t - now) / W)).toEqual([-2]);
    expect(await checkpointOf(client, target)).toBe(now);
  });
});
