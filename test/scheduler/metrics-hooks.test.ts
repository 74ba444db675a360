/**
 * In-process scheduler against the real Elasticsearch: Prometheus `/metrics` fed by job results
 * and seeded from stored result documents; hooks with a local HTTP receiver and a command.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import { upsertIntoDataStream } from '../../src/elastic/upsert.js';
import { validateConfig, type HookConfig } from '../../src/schema/config.js';
import { runHooks, type HookPayload } from '../../src/scheduler/hooks.js';
import { defaultJobRegistry } from '../../src/scheduler/index.js';
import type { ResultSummary } from '../../src/scheduler/jobs/contract.js';
import { createJsonLogger, parseLogLines } from '../../src/scheduler/log.js';
import { SchedulerMetrics, seedLatestResults } from '../../src/scheduler/metrics.js';
import { startMetricsServer } from '../../src/scheduler/metrics-server.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { tempDir, writePredictions } from './helpers.js';

const W = 60_000;

/** Collects log lines in memory. */
function memoryLog() {
  let text = '';
  const out = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
  return {
    log: createJsonLogger(out, { level: 'debug', fields: { owner: 'test' } }),
    records: () => parseLogLines(text),
  };
}

/** A local webhook receiver answering `status`. */
async function receiver(status = 204) {
  const received: Array<{ headers: IncomingHttpHeaders; body: HookPayload }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body) as HookPayload });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=query-secret`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The value of the sample `name{labels}` in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] as string).split(',').sort();
    if (JSON.stringify(got) === JSON.stringify(wanted)) return Number(m[3]);
  }
  return undefined;
}

describe('metrics and hooks', () => {
  const client = testClient();
  const namespace = uniqueNamespace('mh');
  const model = 'fraud';
  // Two past windows: x = 1,2,3 (mean 2) then 4,5,6 (mean 5); reference mean 0, std 2.
  const first = alignDown(Date.now(), W) - 3 * W;
  const receivers: Array<{ close: () => Promise<void> }> = [];

  beforeAll(async () => {
    await installTemplates(client);
    await writePredictions(client, namespace, model, [
      ...[1, 2, 3].map((x, i) => ({ at: first + 1000 * (i + 1), features: { x, y: 10 } })),
      ...[4, 5, 6].map((x, i) => ({ at: first + W + 1000 * (i + 1), features: { x, y: 10 } })),
    ]);
  });
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await client.close();
  });

  function config(hooks: unknown[] = [], extra: Record<string, unknown> = {}) {
    return validateConfig(
      {
        namespace,
        scheduler: { owner: 'test', lockTtl: '10s', heartbeat: '2s' },
        models: [
          {
            name: model,
            versions: ['1'],
            window: '1m',
            start: new Date(first).toISOString(),
            jobs: [
              { name: 'feature-mean', options: { reference: { x: { mean: 0, std: 2 } }, threshold: 2 } },
            ],
            hooks,
            ...extra,
          },
        ],
      },
      { env: {} },
    );
  }

  it('serves the latest drift figures and scheduler health at /metrics, and seeds them from Elasticsearch', async () => {
    const { log } = memoryLog();
    const metrics = new SchedulerMetrics('test');
    const hook = await receiver();
    receivers.push(hook);
    const scheduler = new Scheduler({
      config: config([{ name: 'drift-webhook', on: ['drift.detected'], webhook: { url: hook.url } }]),
      client,
      registry: defaultJobRegistry(),
      log,
      metrics,
    });
    const summary = await scheduler.runDue();
    // Three due windows (four if a minute boundary passed since `first`); only the first two have data.
    const due = summary.processed;
    expect(due).toBeGreaterThanOrEqual(3);
    expect(summary.runs.map((r) => r.window.start.getTime())).toEqual(
      Array.from({ length: due }, (_, i) => first + i * W),
    );
    const server = await startMetricsServer(metrics, { port: 0, host: '127.0.0.1' });
    try {
      const before = Date.now();
      const response = await fetch(server.url);
      const after = Date.now();
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await response.text();
      expect(text).toContain(
        '# HELP mlmon_drift_score Drift score of the latest analyzed window, per feature',
      );
      expect(text).toContain('# TYPE mlmon_drift_score gauge');
      expect(text).toContain('# TYPE mlmon_scheduler_windows_processed_total counter');
      const labels = { namespace, model, version: '1', feature: 'x' };
      // Latest window: mean 5, |5 − 0| / 2 = 2.5 ≥ threshold 2.
      expect(sample(text, 'mlmon_drift_score', labels)).toBe(2.5);
      expect(sample(text, 'mlmon_drift_detected', labels)).toBe(1);
      // y has no reference: no score, so no gauge.
      expect(sample(text, 'mlmon_drift_score', { ...labels, feature: 'y' })).toBeUndefined();
      expect(
        sample(text, 'mlmon_scheduler_windows_processed_total', { namespace, model, job: 'feature-mean' }),
      ).toBe(due);
      expect(
        sample(text, 'mlmon_scheduler_lock_takeovers_total', { namespace, model, job: 'feature-mean' }),
      ).toBe(undefined);
      expect(sample(text, 'mlmon_scheduler_info', { owner: 'test' })).toBe(1);
      expect(
        sample(text, 'mlmon_result_window_end_seconds', { namespace, model, version: '1', kind: 'drift' }),
      ).toBe((first + 2 * W) / 1000);
      // Lag: seconds since the checkpoint (end of the last due window), computed at scrape time.
      const lag = sample(text, 'mlmon_scheduler_lag_seconds', {
        namespace,
        model,
        job: 'feature-mean',
        version: '1',
      });
      const checkpoint = first + due * W;
      expect(lag).toBeGreaterThanOrEqual((before - checkpoint) / 1000);
      expect(lag).toBeLessThanOrEqual((after - checkpoint) / 1000);
      expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
      // The second window crossed the threshold: one webhook call, with its drift document.
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0]?.body.documents.map((d) => d.document.drift)).toEqual([
        expect.objectContaining({ current_mean: 5, score: 2.5, detected: true, threshold: 2 }),
      ]);
      expect(sample(text, 'mlmon_scheduler_hook_calls_total', { hook: 'drift-webhook', outcome: 'ok' })).toBe(
        1,
      );
    } finally {
      await server.close();
    }

    // Other jobs' results, as the analyzer writes them; then a fresh process seeds from Elasticsearch.
    const end = new Date(first + 2 * W).toISOString();
    const base = {
      '@timestamp': end,
      model: { name: model, version: '1' },
      window: { start: new Date(first + W).toISOString(), end },
    };
    await upsertIntoDataStream(
      client,
      `metrics-mlmon.performance-${namespace}`,
      [
        {
          id: 'p-old',
          document: {
            ...base,
            '@timestamp': new Date(first + W).toISOString(),
            window: { start: new Date(first).toISOString(), end: new Date(first + W).toISOString() },
            performance: { accuracy: 0.5, degraded: false },
          },
        },
        {
          id: 'p',
          document: {
            ...base,
            performance: { accuracy: 0.91, f1: 0.8, confusion: { tp: 40, fp: 5 }, degraded: true },
          },
        },
        {
          id: 'p-seg',
          document: { ...base, segment: { name: 'region', value: 'eu' }, performance: { accuracy: 0.1 } },
        },
      ],
      { refresh: true },
    );
    await upsertIntoDataStream(
      client,
      `metrics-mlmon.service-${namespace}`,
      [
        {
          id: 's',
          document: {
            ...base,
            service: { latency: { p50: 3.5, p95: 12.5, p99: 40 }, throughput: 120, error_rate: 0.02 },
          },
        },
      ],
      { refresh: true },
    );
    await client.indices.refresh({ index: `metrics-mlmon.drift-${namespace}` });

    const seeded = new SchedulerMetrics();
    const read = await seedLatestResults(client, seeded, config().models);
    // drift: latest per feature (x, y); performance: latest non-segment; service: one.
    expect(read).toBe(4);
    const text = await seeded.text();
    const l = { namespace, model, version: '1' };
    expect(sample(text, 'mlmon_drift_score', { ...l, feature: 'x' })).toBe(2.5);
    expect(sample(text, 'mlmon_performance', { ...l, metric: 'accuracy' })).toBe(0.91);
    expect(sample(text, 'mlmon_performance', { ...l, metric: 'f1' })).toBe(0.8);
    expect(sample(text, 'mlmon_performance', { ...l, metric: 'confusion_tp' })).toBe(40);
    expect(sample(text, 'mlmon_performance_degraded', l)).toBe(1);
    expect(sample(text, 'mlmon_service_latency_ms', { ...l, quantile: '0.95' })).toBe(12.5);
    expect(sample(text, 'mlmon_service_throughput_per_minute', l)).toBe(120);
    expect(sample(text, 'mlmon_service_error_rate', l)).toBe(0.02);
  });

  it('hooks: webhook and command get the payload; failures and timeouts are logged, never thrown', async () => {
    const dir = tempDir('hooks');
    const out = join(dir, 'stdin.json');
    const envOut = join(dir, 'env.txt');
    // A port nobody listens on: bind one, then close it.
    const closed = await receiver();
    await closed.close();
    const ok = await receiver(200);
    const failing = await receiver(500);
    receivers.push(ok, failing);
    const hooks: HookConfig[] = [
      {
        name: 'web',
        on: ['drift.detected'],
        webhook: { url: ok.url, headers: { authorization: 'Bearer header-secret' }, timeoutMs: 5000 },
      },
      {
        name: 'cmd',
        on: ['drift.detected', 'performance.degraded'],
        command: {
          argv: [
            'sh',
            '-c',
            'cat > "$1"; printf "%s %s" "$MLMON_EVENT" "$MLMON_MODEL" > "$2"',
            'sh',
            out,
            envOut,
          ],
          timeoutMs: 10_000,
        },
      },
      {
        name: 'web-500',
        on: ['drift.detected'],
        webhook: { url: failing.url, headers: {}, timeoutMs: 5000 },
      },
      {
        name: 'web-refused',
        on: ['drift.detected'],
        webhook: { url: closed.url, headers: {}, timeoutMs: 5000 },
      },
      { name: 'slow', on: ['drift.detected'], command: { argv: ['sleep', '30'], timeoutMs: 300 } },
      {
        name: 'exit-3',
        on: ['drift.detected'],
        command: { argv: ['sh', '-c', 'echo broken >&2; exit 3'], timeoutMs: 5000 },
      },
      {
        name: 'missing',
        on: ['drift.detected'],
        command: { argv: ['/nonexistent/retrain'], timeoutMs: 5000 },
      },
      {
        name: 'perf-only',
        on: ['performance.degraded'],
        webhook: { url: ok.url, headers: {}, timeoutMs: 5000 },
      },
    ];
    const documents: ResultSummary[] = [
      {
        stream: `metrics-mlmon.drift-${namespace}`,
        id: 'd1',
        document: { feature: { name: 'x' }, drift: { score: 0.4, detected: true } },
      },
      {
        stream: `metrics-mlmon.drift-${namespace}`,
        id: 'd2',
        document: { feature: { name: 'y' }, drift: { score: 0.01, detected: false } },
      },
    ];
    const { log, records } = memoryLog();
    const context = {
      job: 'drift',
      model: { name: model, version: '1' },
      namespace,
      window: { start: 'a', end: 'b' },
    };
    const outcomes = await runHooks(hooks, context, documents, log);

    const byName = Object.fromEntries(outcomes.map((o) => [o.hook, o]));
    expect(Object.keys(byName).sort()).toEqual([
      'cmd',
      'exit-3',
      'missing',
      'slow',
      'web',
      'web-500',
      'web-refused',
    ]);
    expect(byName.web).toMatchObject({ ok: true, status: 200 });
    expect(byName.cmd).toMatchObject({ ok: true, status: 0 });
    expect(byName['web-500']).toMatchObject({ ok: false, status: 500, error: 'answered HTTP 500' });
    expect(byName['web-refused']).toMatchObject({ ok: false, error: 'request failed: ECONNREFUSED' });
    expect(byName.slow).toMatchObject({ ok: false, error: 'timed out after 300 ms' });
    expect(byName['exit-3']).toMatchObject({ ok: false, status: 3, error: 'exited with 3: broken' });
    expect(byName.missing?.ok).toBe(false);
    expect(byName.missing?.error).toContain('cannot run /nonexistent/retrain');

    // The payload: only the document that crossed the threshold.
    const expected: HookPayload = {
      event: 'drift.detected',
      ...context,
      documents: [documents[0] as ResultSummary],
    };
    expect(ok.received.map((r) => r.body)).toEqual([expected]);
    expect(ok.received[0]?.headers.authorization).toBe('Bearer header-secret');
    expect(ok.received[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(expected);
    expect(readFileSync(envOut, 'utf8')).toBe(`drift.detected ${model}`);

    const failed = records().filter((r) => r['event.action'] === 'hook.failed');
    expect(failed.map((r) => r.hook).sort()).toEqual(['exit-3', 'missing', 'slow', 'web-500', 'web-refused']);
    const logText = JSON.stringify(records());
    expect(logText).not.toContain('header-secret');
    expect(logText).not.toContain('query-secret');

    // No crossing, no call.
    expect(await runHooks(hooks, context, [documents[1] as ResultSummary], log)).toEqual([]);
    expect(existsSync(out)).toBe(true);
  });
});
