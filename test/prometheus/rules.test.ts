/**
 * Issue 27 item 4: the Prometheus alert rules (prometheus/mlmon.rules.yml), for real.
 *
 * 1. `promtool check rules` and `promtool test rules prometheus/mlmon.rules.test.yml` (series that
 *    must fire and series that must not, per rule).
 * 2. Every Prometheus rule names its Kibana twin and carries the twin's severity
 *    (src/kibana/rules.ts `RULE_SEVERITY`).
 * 3. A real Prometheus (Debian's `prometheus`, on a loopback port, a temporary storage directory,
 *    1 s scrape and evaluation intervals) scrapes the scheduler's /metrics (SchedulerMetrics served
 *    by startMetricsServer, seeded from Elasticsearch as a starting scheduler is: seedLatestResults)
 *    over real analyzer results: a window where x moved by 2 reference standard deviations (high
 *    severity) and colour did not. Exactly one alert must exist, MlmonFeatureDrift for x, and no
 *    other in any state (pending included): not stale (the window ended under 30 minutes ago), no
 *    performance or service series.
 *
 * promtool and prometheus come from Debian's `prometheus` package (.ci/run installs it). Without
 * them this test fails with how to install them; a developer who cannot install them may set
 * MLMON_SKIP_PROMETHEUS=1 to skip it, which CI (CI set) ignores.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RULE_SEVERITY } from '../../src/kibana/rules.js';
import type { ModelConfig } from '../../src/schema/config.js';
import { streamNames } from '../../src/schema/streams.js';
import { SchedulerMetrics, seedLatestResults } from '../../src/scheduler/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../src/scheduler/metrics-server.js';
import { indexProfileAnalyze } from '../helpers/analysis.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { normal, seededRandom, type PredictionInput } from '../helpers/predictions.js';

const RULES = resolve('prometheus/mlmon.rules.yml');
const RULE_TESTS = resolve('prometheus/mlmon.rules.test.yml');
const skip = process.env.MLMON_SKIP_PROMETHEUS === '1' && !process.env.CI;

function need(tool: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  if (!found)
    throw new Error(
      `${tool} not found: install Debian's prometheus package (apt-get install -y --no-install-recommends prometheus), or set MLMON_SKIP_PROMETHEUS=1 on a developer machine that cannot (CI ignores it)`,
    );
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => done(port));
    });
  });
}

describe.skipIf(skip)('Prometheus alert rules', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('promtool: the rules check, and their unit tests pass', () => {
    const promtool = need('promtool');
    const check = spawnSync(promtool, ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('SUCCESS: 6 rules found');
    const tests = spawnSync(promtool, ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
    expect(tests.status, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toContain('SUCCESS');
  });

  it('every rule names its Kibana twin and has the same severity', async () => {
    const text = await readFile(RULES, 'utf8');
    const rules = text.split(/\n\s+- alert: /).slice(1);
    expect(rules).toHaveLength(6);
    for (const r of rules) {
      const name = r.split('\n')[0];
      const twin = /kibana_rule: (\S+)/.exec(r)?.[1] as string;
      const severity = /severity: (\S+)/.exec(r)?.[1];
      expect(RULE_SEVERITY[twin], `${name}: ${twin}`).toBeDefined();
      expect(severity, `${name} against ${twin}`).toBe(RULE_SEVERITY[twin]);
    }
  });

  it('a real Prometheus scraping the scheduler fires the drift alert and nothing else', async () => {
    const binary = need('prometheus');
    const client = testClient();
    const namespace = uniqueNamespace('prom');
    cleanups.push(async () => {
      const s = streamNames(namespace);
      await client.indices.deleteDataStream({ name: [s.prediction, s.drift, s.quality].join(',') });
      await client.close();
    });
    // reference window, then a window where x ~ N(2, 1): drift of high severity on x, none on colour
    const W = 30 * 60_000;
    const t0 = Math.floor(Date.now() / W) * W - 2 * W;
    const rows = (w: number, shift: number): PredictionInput[] => {
      const rand = seededRandom(40 + w);
      return Array.from({ length: 1000 }, (_, i) => ({
        timestamp: new Date(t0 + w * W + Math.floor((i * W) / 1000)),
        features: { x: normal(rand) + shift, color: rand() < 0.5 ? 'red' : 'blue' },
      }));
    };
    const run = await indexProfileAnalyze(client, {
      namespace,
      model: 'fraud',
      rows: [...rows(0, 0), ...rows(1, 2)],
      reference: { profileFrom: new Date(t0), profileTo: new Date(t0 + W) },
      from: new Date(t0 + W),
      to: new Date(t0 + 2 * W),
      windowMs: W,
      analyze: { write: true, refresh: true },
    });
    const fields = run.result.versions[0]?.windows[0]?.fields ?? [];
    expect(fields.find((f) => f.name === 'x')?.drift?.severity).toBe('high');
    expect(fields.find((f) => f.name === 'color')?.drift?.detected).toBe(false);

    const metrics = new SchedulerMetrics('prometheus-test');
    const model = { name: 'fraud', versions: 'all', namespace } as unknown as ModelConfig;
    expect(await seedLatestResults(client, metrics, [model])).toBeGreaterThan(0);
    const server: MetricsServer = await startMetricsServer(metrics, { port: 0, host: '127.0.0.1' });
    cleanups.push(() => server.close());
    const target = new URL(server.url).host;

    const dir = await mkdtemp(join(tmpdir(), 'mlmon-prometheus-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ['${RULES}']`,
        'scrape_configs:',
        '  - job_name: mlmon-scheduler',
        `    static_configs: [{ targets: ['${target}'] }]`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const prometheus: ChildProcess = spawn(
      binary,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    prometheus.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    cleanups.push(async () => {
      if (prometheus.exitCode === null) {
        prometheus.kill('SIGTERM');
        await new Promise((r) => prometheus.once('exit', r));
      }
    });

    type Alert = { labels: Record<string, string>; state: string };
    const api = async <T>(path: string): Promise<T | undefined> => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}${path}`);
        return r.ok ? ((await r.json()) as { data: T }).data : undefined;
      } catch {
        return undefined;
      }
    };
    // generous wait on a loaded machine: Prometheus start, a scrape, an evaluation, then two more
    // evaluations so that a pending alert of another rule would show
    const deadline = Date.now() + 90_000;
    let alerts: Alert[] = [];
    while (Date.now() < deadline) {
      alerts = (await api<{ alerts: Alert[] }>('/api/v1/alerts'))?.alerts ?? [];
      if (alerts.some((a) => a.state === 'firing')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(alerts.length, `no alert within 90 s; prometheus log:\n${log}`).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 3000));
    alerts = (await api<{ alerts: Alert[] }>('/api/v1/alerts'))?.alerts ?? [];
    expect(alerts.map((a) => [a.labels.alertname, a.labels.feature, a.labels.severity, a.state])).toEqual([
      ['MlmonFeatureDrift', 'x', 'warning', 'firing'],
    ]);
    // every rule loaded and evaluated without error
    type Rules = { groups: Array<{ rules: Array<{ name: string; health: string; state: string }> }> };
    const loaded = (await api<Rules>('/api/v1/rules'))?.groups.flatMap((g) => g.rules) ?? [];
    expect(loaded.map((r) => r.name).sort()).toEqual([
      'MlmonAnalyzerStale',
      'MlmonEstimateUnreliable',
      'MlmonEstimatedPerformanceBelowBound',
      'MlmonFeatureDrift',
      'MlmonIngestionStopped',
      'MlmonPerformanceBelowBound',
    ]);
    for (const r of loaded) expect(r.health, r.name).toBe('ok');
    expect(loaded.filter((r) => r.state !== 'inactive').map((r) => r.name)).toEqual(['MlmonFeatureDrift']);
  }, 180_000);
});
