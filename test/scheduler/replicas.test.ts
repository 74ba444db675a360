/**
 * Several scheduler processes against one real Elasticsearch: exactly one result document per
 * window and feature, both replicas working, a SIGKILLed replica's window taken over after its
 * lock expires, and catch-up in order after downtime.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import type { JobTarget } from '../../src/scheduler/state.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import {
  checkpointOf,
  killStillRunning,
  resultCounts,
  SchedulerProcess,
  tempDir,
  waitUntilSettled,
  windowStates,
  writeConfig,
  writePredictions,
  type Prediction,
} from './helpers.js';

const WINDOW_MS = 2000;
const MODEL = 'churn';
const FEATURES = ['tenure', 'spend'];

/** Five predictions per window, with feature values that depend on the window index. */
function predictionsFor(windowStarts: number[]): Prediction[] {
  return windowStarts.flatMap((start, k) =>
    Array.from({ length: 5 }, (_, i) => ({
      at: start + 100 + i * 300,
      features: { tenure: k * 10 + i, spend: 100 + k },
    })),
  );
}

function schedulerConfig(namespace: string, start: number, overrides: Record<string, unknown> = {}) {
  return {
    namespace,
    scheduler: { lockTtl: '3s', heartbeat: '500ms', maxCatchUp: 100, shutdownGrace: '10s', ...overrides },
    models: [
      {
        name: MODEL,
        versions: 'all',
        window: '2s',
        every: '1s',
        delay: '500ms',
        start: new Date(start).toISOString(),
        jobs: [{ name: 'feature-mean', options: { reference: { tenure: { mean: 0, std: 10 } } } }],
      },
    ],
  };
}

describe('scheduler replicas against one cluster', () => {
  const client = testClient();
  const esUrl = inject('esUrl');
  const processes: SchedulerProcess[] = [];
  const spawnScheduler = (
    config: string,
    owner: string,
    extra: string[] = [],
    env: Record<string, string> = {},
  ) => {
    const p = new SchedulerProcess(['--config', config, ...extra], {
      ES_URL: esUrl,
      MLMON_OWNER: owner,
      ...env,
    });
    processes.push(p);
    return p;
  };

  /**
   * What each test starts from: predictions in `count` windows, the first `back` windows before the
   * current one, and a configuration file that schedules the model from that first window.
   */
  const modelWithPredictions = async (prefix: string, back: number, count: number) => {
    const namespace = uniqueNamespace(prefix);
    const target: JobTarget = { job: 'feature-mean', model: { name: MODEL }, namespace };
    const first = alignDown(Date.now(), WINDOW_MS) - back * WINDOW_MS;
    const starts = Array.from({ length: count }, (_, k) => first + k * WINDOW_MS);
    await writePredictions(client, namespace, MODEL, predictionsFor(starts));
    const config = writeConfig(tempDir(prefix), 'mlmon.config.json', schedulerConfig(namespace, first));
    return { namespace, target, first, starts, config };
  };

  /** Exactly one result document per window and feature, and none elsewhere. */
  const expectOneDocumentPerWindowAndFeature = async (namespace: string, starts: number[]) => {
    const counts = await resultCounts(client, namespace, MODEL);
    for (const start of starts)
      for (const feature of FEATURES)
        expect(counts.get(`${new Date(start).toISOString()}|${feature}`)).toBe(1);
    expect([...counts.values()].reduce((s, n) => s + n, 0)).toBe(starts.length * FEATURES.length);
  };

  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    killStillRunning(processes);
    await client.close();
  });

  it('two replicas: every window analyzed once, one document per window and feature, both did work', async () => {
    const { namespace, target, starts, config } = await modelWithPredictions('rep', 8, 8);

    const a = spawnScheduler(config, 'replica-a', [], { MLMON_TEST_JOB_DELAY_MS: '700' });
    const b = spawnScheduler(config, 'replica-b', [], { MLMON_TEST_JOB_DELAY_MS: '700' });
    const states = await waitUntilSettled(client, target, starts, 90_000, () => a.stderr + b.stderr);

    a.kill('SIGTERM');
    b.kill('SIGTERM');
    const [exitA, exitB] = await Promise.all([a.exited, b.exited]);
    expect(exitA.code).toBe(0);
    expect(exitB.code).toBe(0);
    expect(a.events('scheduler.stopped')).toHaveLength(1);
    expect(b.events('scheduler.stopped')).toHaveLength(1);

    await expectOneDocumentPerWindowAndFeature(namespace, starts);

    // Every data window done; the lock documents show both owners.
    expect(states.map((s) => s.state.kind)).toEqual(starts.map(() => 'window'));
    const owners = new Set(states.map((s) => s.state.owner));
    expect([...owners].sort()).toEqual(['replica-a', 'replica-b']);
    for (const s of states) expect(s.state.detail.documents).toBe(FEATURES.length);

    // The logs agree: no window processed by both.
    const processedBy = (p: SchedulerProcess) =>
      p.events('window.processed').map((r) => r['window.start'] as string);
    const byA = processedBy(a);
    const byB = processedBy(b);
    expect(byA.filter((w) => byB.includes(w))).toEqual([]);
    for (const start of starts) expect([...byA, ...byB]).toContain(new Date(start).toISOString());
    // Each replica left windows held by the other to it at least once.
    expect(a.events('window.held').length + b.events('window.held').length).toBeGreaterThan(0);
  });

  it('a replica killed mid-window: the other takes the window over after the lock expires', async () => {
    const { namespace, target, starts, config } = await modelWithPredictions('kill', 5, 5);

    const victim = spawnScheduler(config, 'victim', [], { MLMON_TEST_JOB_DELAY_MS: '2500' });
    const started = await victim.waitFor((r) => r['event.action'] === 'window.started', 'a window start');
    victim.kill('SIGKILL');
    const killedWindow = started['window.start'] as string;
    expect((await victim.exited).signal).toBe('SIGKILL');
    // The victim's lock is still there, not expired yet and not released: nobody finished its window.
    const [orphan] = await windowStates(client, target, [Date.parse(killedWindow)]);
    expect(orphan?.state.kind).toBe('lock');
    expect(orphan?.state.owner).toBe('victim');

    const survivor = spawnScheduler(config, 'survivor', [], { MLMON_TEST_JOB_DELAY_MS: '300' });
    const states = await waitUntilSettled(client, target, starts, 90_000, () => survivor.stderr);
    survivor.kill('SIGTERM');
    expect((await survivor.exited).code).toBe(0);

    const takeover = survivor.events('lock.takeover');
    expect(takeover.map((r) => [r['window.start'], r['previous.owner']])).toEqual([[killedWindow, 'victim']]);
    const taken = states[starts.indexOf(Date.parse(killedWindow))];
    expect(taken?.state.kind).toBe('window');
    expect(taken?.state.owner).toBe('survivor');
    expect(taken?.state.detail.takeovers).toBe(1);
    expect(taken?.state.detail.attempts).toBe(2);
    expect(taken?.state.detail.owners.map((o) => [o.owner, o.how])).toEqual([
      ['victim', 'acquired'],
      ['survivor', 'takeover'],
    ]);
    for (const s of states) expect(s.state.owner).toBe('survivor');

    await expectOneDocumentPerWindowAndFeature(namespace, starts);
  });

  it('after three windows of downtime, `mlmon schedule --once` catches up oldest first', async () => {
    const { namespace, target, config } = await modelWithPredictions('catch', 4, 3);
    // The real CLI entry point, with the built-in job registry.
    const cli = 'src/cli/main.ts';

    const before = new SchedulerProcess(
      ['--config', config, '--once'],
      { ES_URL: esUrl, MLMON_OWNER: 'one' },
      cli,
    );
    processes.push(before);
    expect((await before.exited).code).toBe(0);
    const checkpoint = await checkpointOf(client, target);
    expect(checkpoint).toBeDefined();
    expect(before.events('window.processed').length).toBeGreaterThanOrEqual(3);

    // Downtime: predictions keep arriving for three more windows while no scheduler runs.
    const downtimeEnd = (checkpoint as number) + 3 * WINDOW_MS + 500 + 100;
    // One prediction per downtime window for sure (this process may get here late, e.g. when the
    // first run had to create the result data stream), plus live traffic until they are all due.
    await writePredictions(
      client,
      namespace,
      MODEL,
      [0, 1, 2].map((i) => ({
        at: (checkpoint as number) + i * WINDOW_MS + 100,
        features: { tenure: 49, spend: 199 },
      })),
    );
    let k = 0;
    while (Date.now() < downtimeEnd) {
      await writePredictions(client, namespace, MODEL, [
        { at: Date.now(), features: { tenure: 50 + (k % 7), spend: 200 + k } },
      ]);
      k++;
      await new Promise((r) => setTimeout(r, 200));
    }

    const after = new SchedulerProcess(
      ['--config', config, '--once'],
      { ES_URL: esUrl, MLMON_OWNER: 'one' },
      cli,
    );
    processes.push(after);
    expect((await after.exited).code).toBe(0);
    const processed = after.events('window.processed').map((r) => Date.parse(r['window.start'] as string));
    expect(processed.length).toBeGreaterThanOrEqual(3);
    // In order, contiguous, starting exactly at the checkpoint left before the downtime.
    expect(processed).toEqual(processed.map((_, i) => (checkpoint as number) + i * WINDOW_MS));
    // The three downtime windows carried data, so each has one document per feature.
    const counts = await resultCounts(client, namespace, MODEL);
    for (let i = 0; i < 3; i++)
      for (const feature of FEATURES)
        expect(
          counts.get(`${new Date((checkpoint as number) + i * WINDOW_MS).toISOString()}|${feature}`),
        ).toBe(1);
    // The checkpoint history agrees: finish times in window order, checkpoint at the last one.
    const states = await windowStates(client, target, processed);
    const finished = states.map((s) => Date.parse(s?.state.detail.finishedAt ?? ''));
    expect(finished).toEqual([...finished].sort((x, y) => x - y));
    expect(await checkpointOf(client, target)).toBe((processed.at(-1) as number) + WINDOW_MS);
  });
});
