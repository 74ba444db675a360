/**
 * Issue 12 item 4: a model `start` further back than `maxCatchUp` windows, with no checkpoint yet.
 * The scheduler analyzes the newest `maxCatchUp` windows, warns in one line naming the skipped
 * range and both ways to analyze it, and `--backfill` (Scheduler `backfill: true`, what
 * `mlmon schedule --backfill` sets) then analyzes exactly the skipped windows, not the done ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { validateConfig } from '../../src/schema/config.js';
import { JobRegistry } from '../../src/scheduler/jobs/registry.js';
import { createJsonLogger, parseLogLines } from '../../src/scheduler/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { JobTarget } from '../../src/scheduler/state.js';
import { alignDown, planWindows } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { checkpointOf } from './helpers.js';

// Hour windows: the clock crossing a window boundary during the test is then practically impossible.
const W = 3_600_000;

function memoryLog() {
  let text = '';
  const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
  return {
    log: createJsonLogger(out, { level: 'debug' }),
    records: () => parseLogLines(text),
    text: () => text,
  };
}

describe('planWindows with a start older than maxCatchUp', () => {
  it('names the skipped range when there is no checkpoint, and backfill plans all of it', () => {
    const now = 100 * W;
    const plan = planWindows({ now, windowMs: W, delayMs: 0, maxCatchUp: 3, start: 90 * W });
    // Due windows end at 100W: 90W..99W are 10 windows; the newest 3 are kept, 7 skipped.
    expect(plan.windows.map((w) => w.start.getTime() / W)).toEqual([97, 98, 99]);
    expect(plan.skipped).toBe(7);
    expect(plan.skippedFrom).toBe(90 * W);
    expect(plan.from).toBe(97 * W);
    const backfill = planWindows({
      now,
      windowMs: W,
      delayMs: 0,
      maxCatchUp: 3,
      start: 90 * W,
      backfill: true,
    });
    expect(backfill.windows.map((w) => w.start.getTime() / W)).toEqual([
      90, 91, 92, 93, 94, 95, 96, 97, 98, 99,
    ]);
    expect(backfill.skipped).toBe(0);
  });

  it('a start within maxCatchUp windows skips nothing', () => {
    const plan = planWindows({ now: 100 * W, windowMs: W, delayMs: 0, maxCatchUp: 48, start: 90 * W });
    expect(plan.skipped).toBe(0);
    expect(plan.windows).toHaveLength(10);
  });
});

describe('scheduler: start older than maxCatchUp, then --backfill (real mlmon-state)', () => {
  const client = testClient();
  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    await client.close();
  });

  it('warns once with the range and the commands, and the backfill analyzes exactly the skipped windows', async () => {
    const namespace = uniqueNamespace('backfill');
    const target: JobTarget = { job: 'probe', model: { name: 'm' }, namespace };
    const now = alignDown(Date.now(), W);
    const start = now - 10 * W;
    const config = validateConfig(
      {
        namespace,
        scheduler: { owner: 'solo', lockTtl: '30s', heartbeat: '1s', maxCatchUp: 3 },
        models: [{ name: 'm', window: '1h', start: new Date(start).toISOString(), jobs: ['probe'] }],
      },
      { env: {} },
    );
    const processed: number[] = [];
    const registry = new JobRegistry().register('probe', async (ctx) => {
      processed.push((ctx.window.start.getTime() - now) / W);
      return { documents: [] };
    });

    const first = memoryLog();
    const summary = await new Scheduler({ config, client, registry, log: first.log }).runDue();
    // The 3 newest of the 10 due windows (now−10W … now−W).
    expect(processed).toEqual([-3, -2, -1]);
    expect(summary.processed).toBe(3);
    const warnings = first.records().filter((r) => r['event.action'] === 'windows.skipped');
    expect(warnings).toHaveLength(1);
    const warning = warnings[0] as Record<string, unknown>;
    const from = new Date(start).toISOString();
    const to = new Date(now - 3 * W).toISOString();
    expect(warning['log.level']).toBe('warn');
    expect(warning.skipped).toBe(7);
    expect(warning['skipped.from']).toBe(from);
    expect(warning['skipped.to']).toBe(to);
    expect(warning.message).toBe(
      `7 windows ${from} → ${to} from the configured start, with no checkpoint yet, are more than scheduler.maxCatchUp (3) windows back and are skipped; analyze them with "mlmon schedule --backfill" or "mlmon analyze --model m --namespace ${namespace} --from ${from} --to ${to} --window 1h"`,
    );
    expect(
      first
        .text()
        .split('\n')
        .filter((l) => l.includes('windows.skipped')),
    ).toHaveLength(1);
    expect(await checkpointOf(client, target)).toBe(now);

    // A normal pass now has a checkpoint: nothing to do, no warning.
    processed.length = 0;
    const second = memoryLog();
    await new Scheduler({ config, client, registry, log: second.log }).runDue();
    expect(processed).toEqual([]);
    expect(second.records().filter((r) => r['event.action'] === 'windows.skipped')).toHaveLength(0);

    // The backfill: the 7 skipped windows, oldest first; the 3 done ones are not redone.
    const third = memoryLog();
    const backfilled = await new Scheduler({
      config,
      client,
      registry,
      log: third.log,
      backfill: true,
    }).runDue();
    expect(processed).toEqual([-10, -9, -8, -7, -6, -5, -4]);
    expect(backfilled.processed).toBe(7);
    expect(backfilled.failed).toBe(0);
    expect(await checkpointOf(client, target)).toBe(now);

    // Backfilling again finds everything done.
    processed.length = 0;
    await new Scheduler({ config, client, registry, log: memoryLog().log, backfill: true }).runDue();
    expect(processed).toEqual([]);
  });
});
