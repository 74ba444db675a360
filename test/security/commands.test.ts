/**
 * Least privilege, proven on the secured node (`npm run test:security`): an API key is made from
 * each shipped role descriptor (security/*.json, as docs/security.md tells users to), and with it
 * every mlmon command the role is meant for runs as a user runs it (a child process with ES_URL,
 * ES_CA_CERT and ES_API_KEY: TLS verified against the node's private CA), while what the role must
 * not do is refused by Elasticsearch itself (403 security_exception).
 *
 * The order is a deployment's: setup (setup key), then the logger, `mlmon collect` and
 * `mlmon spool flush` (logger key), then baseline, analyze, `schedule --once` and report
 * (analyzer key). Counts are checked with the administrator's client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, errors } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictionLogger, type PredictionLoggerOptions } from '../../src/logger/index.js';
import { logStream, resultStream } from '../../src/schema/streams.js';
import { testClient, testConnection, uniqueNamespace } from '../helpers/es.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HOUR = 3_600_000;
const admin = testClient();
const url = () => (admin.connectionPool.connections[0] as { url: URL }).url.origin;
const caCert = (): string => {
  const ca = testConnection().tls?.ca;
  expect(ca, 'a secured node with a CA').toBeDefined();
  return ca as string;
};
const ns = uniqueNamespace('sec');
// Baselines are kept per model and version (mlmon-baselines), not per namespace: a model of this run's own.
const MODEL = `model-${ns}`;
let work: string;
let caFile: string;
/** The base64 `encoded` API key made from each shipped descriptor. */
const keys: Record<string, string> = {};

const descriptor = (role: string): object =>
  JSON.parse(readFileSync(join(ROOT, 'security', `${role}.json`), 'utf8')) as object;

async function createKey(role: string, descriptors: Record<string, object> = { [role]: descriptor(role) }) {
  const key = await admin.security.createApiKey({
    name: `test-${role}-${ns}`,
    expiration: '1h',
    role_descriptors: descriptors as never,
  });
  return key.encoded;
}

/** A client with one API key, TLS verified against the node's CA. */
const as = (apiKey: string) =>
  new Client({ node: url(), auth: { apiKey }, tls: { ca: caCert() }, maxRetries: 0, requestTimeout: 60_000 });

/** A logger in this process, connected with one API key over TLS (the node's CA). */
const loggerWith = (apiKey: string, namespace: string, options: Partial<PredictionLoggerOptions> = {}) =>
  createPredictionLogger({
    node: url(),
    apiKey,
    caCert: caFile,
    namespace,
    model: { name: MODEL, version: '1' },
    onWarning: () => {},
    ...options,
  });

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `mlmon …` as a child process, connected with one API key (no basic credentials around). */
function mlmon(args: string[], apiKey: string): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: mlmonEnv(apiKey),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

function mlmonEnv(apiKey: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MLMON_DEBUG: '', ES_URL: url(), ES_CA_CERT: caFile };
  delete env.ES_USERNAME;
  delete env.ES_PASSWORD;
  env.ES_API_KEY = apiKey;
  return env;
}

/** Resolves with Elasticsearch's refusal, or fails when the request went through. */
async function refused(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (error) {
    expect(error).toBeInstanceOf(errors.ResponseError);
    const e = error as InstanceType<typeof errors.ResponseError>;
    expect(e.statusCode, e.message).toBe(403);
    expect(e.message).toContain('security_exception');
    return e.message;
  }
  throw new Error('the request was allowed');
}

async function count(index: string): Promise<number> {
  await admin.indices.refresh({ index, ignore_unavailable: true });
  const r = await admin.count({ index, ignore_unavailable: true, allow_no_indices: true });
  return r.count;
}

// Two hours of predictions: the first hour is the baseline, the second is analyzed. The window
// before the current one, so that both are complete whatever the clock says.
const start = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
const N = 60;
const predictions = Array.from({ length: 2 * N }, (_, i) => ({
  id: `p-${i}`,
  timestamp: start + Math.floor((i * HOUR) / N),
  features: { amount: (i % N) + (i >= N ? 50 : 0), channel: i % 2 ? 'web' : 'app' },
  prediction: { label: i % 3 ? '1' : '0', score: (i % 10) / 10 },
  latencyMs: 5 + (i % 7),
}));

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mlmon-security-'));
  caFile = join(work, 'ca.pem');
  writeFileSync(caFile, caCert());
  for (const role of ['mlmon-setup', 'mlmon-logger', 'mlmon-analyzer']) keys[role] = await createKey(role);
});

afterAll(async () => {
  await admin.security.invalidateApiKey({ name: `test-*-${ns}` }).catch(() => undefined);
  await admin.indices.delete({ index: `other-${ns}`, ignore_unavailable: true }).catch(() => undefined);
  await admin.close();
  rmSync(work, { recursive: true, force: true });
});

describe('each shipped role: what its commands need works, the rest is refused', () => {
  it('setup key: mlmon setup installs the templates; it cannot read or write documents', async () => {
    const r = await mlmon(['setup', '--format', 'json'], keys['mlmon-setup'] as string);
    expect(r.code, r.stderr).toBe(0);
    const setup = as(keys['mlmon-setup'] as string);
    try {
      const template = await admin.indices.getIndexTemplate({ name: 'mlmon-*' });
      expect(template.index_templates.length).toBeGreaterThan(0);
      await refused(setup.search({ index: logStream('prediction', ns) }));
      await refused(
        setup.index({ index: logStream('prediction', ns), op_type: 'create', document: { a: 1 } }),
      );
    } finally {
      await setup.close();
    }
  });

  it('logger key: the logger, mlmon collect and mlmon spool flush deliver; Elasticsearch refuses the rest', async () => {
    const apiKey = keys['mlmon-logger'] as string;
    const logger = loggerWith(apiKey, ns);
    for (const p of predictions) logger.logPrediction(p);
    for (const p of predictions.filter((_, i) => i % 2 === 0))
      logger.logOutcome({ id: p.id, actual: { label: p.prediction.label === '1' ? '1' : '0' } });
    const closed = await logger.close({ timeoutMs: 60_000 });
    expect(closed.pending).toBe(0);
    expect(closed.dropped).toBe(0);
    expect(await count(logStream('prediction', ns))).toBe(2 * N);
    expect(await count(logStream('outcome', ns))).toBe(N);

    // mlmon collect with the logger key: /readyz says Elasticsearch is up (asked with a request the
    // role may make; 45d13bb asked GET /, which needs `monitor`: "unreachable" here, 405), and a
    // 2xx means stored.
    const collected = await collect(apiKey, [
      { id: 'c-1', model: { name: MODEL, version: '1' }, features: { amount: 1 } },
    ]);
    expect(collected.ready).toMatchObject({ ready: true, elasticsearch: 'up' });
    expect(collected.status).toBeLessThan(300);
    expect(await count(logStream('prediction', ns))).toBe(2 * N + 1);

    // mlmon spool flush with the logger key: a spool left by a logger that never reached the node.
    const spoolDir = join(work, 'spool');
    const offline = createPredictionLogger({
      node: 'http://127.0.0.1:1',
      namespace: ns,
      model: { name: MODEL, version: '1' },
      spool: { dir: spoolDir },
      onWarning: () => {},
    });
    for (let i = 0; i < 5; i++) offline.logPrediction({ id: `s-${i}`, features: { amount: i } });
    expect((await offline.close({ timeoutMs: 200 })).pending).toBe(5);
    const flushed = await mlmon(['spool', 'flush', '--dir', spoolDir], apiKey);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(await count(logStream('prediction', ns))).toBe(2 * N + 6);

    const key = as(apiKey);
    try {
      // no `monitor`: the cluster state (every index's mappings and settings) stays out of reach
      await refused(key.cluster.state({ metric: 'metadata' }));
      await refused(key.indices.delete({ index: logStream('prediction', ns) }));
      // A document delete in an index of someone else's: refused by security. The role
      // holds `delete` on mlmon-pairs-* (collect's settled halves), so a delete aimed at a
      // prediction stream now passes the request-level check and is refused by the data stream
      // itself (400: only `create` writes), which the next line holds too: it stays undeletable.
      await admin.index({ index: `other-${ns}`, id: 'x', document: { a: 1 }, refresh: true });
      await refused(key.delete({ index: `other-${ns}`, id: 'x' }));
      await expect(key.delete({ index: logStream('prediction', ns), id: 'p-0' })).rejects.toMatchObject({
        statusCode: 400,
      });
      expect(await count(logStream('prediction', ns))).toBe(2 * N + 6);
      await refused(key.search({ index: resultStream('drift', ns) }));
      await refused(key.search({ index: 'mlmon-baselines' }));
      await refused(key.index({ index: resultStream('drift', ns), document: { a: 1 } }));
      await refused(key.index({ index: 'mlmon-state', id: 'x', document: { a: 1 } }));
      await refused(
        key.indices.putIndexTemplate({ name: `evil-${ns}`, index_patterns: [`evil-${ns}-*`], template: {} }),
      );
    } finally {
      await key.close();
    }
  });

  it('analyzer key: baseline, analyze, schedule --once and report; it cannot delete, write logs or install templates', async () => {
    const apiKey = keys['mlmon-analyzer'] as string;
    const iso = (t: number) => new Date(t).toISOString();
    /** The model, namespace and hour that analyze writes results for and report reads. */
    const analyzedHour = [
      '--model',
      MODEL,
      '--namespace',
      ns,
      '--from',
      iso(start + HOUR),
      '--to',
      iso(start + 2 * HOUR),
    ];
    const baseline = await mlmon(
      [
        'baseline',
        '--model',
        MODEL,
        '--version',
        '1',
        '--namespace',
        ns,
        '--from',
        iso(start),
        '--to',
        iso(start + HOUR),
      ],
      apiKey,
    );
    expect(baseline.code, baseline.stderr).toBe(0);
    const analyzed = await mlmon(['analyze', ...analyzedHour, '--window', '1h', '--format', 'json'], apiKey);
    expect(analyzed.code, analyzed.stderr).toBe(0);
    // One window, two features (amount, channel): at least one drift document per feature, and the
    // window's service health (latencies were logged).
    expect(await count(resultStream('drift', ns))).toBeGreaterThanOrEqual(2);
    expect(await count(resultStream('service', ns))).toBeGreaterThanOrEqual(1);

    const config = join(work, 'mlmon.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        namespace: ns,
        scheduler: { owner: 'security-test' },
        models: [
          {
            name: MODEL,
            versions: ['1'],
            baseline: 'default',
            window: '1h',
            delay: '0s',
            start: iso(start + HOUR),
            jobs: ['drift', 'quality', 'performance', 'service'],
          },
        ],
      }),
    );
    const scheduled = await mlmon(['schedule', '--config', config, '--once'], apiKey);
    expect(scheduled.code, scheduled.stderr).toBe(0);
    expect(scheduled.stdout).toContain('window.processed');

    const report = await mlmon(['report', ...analyzedHour, '--format', 'json'], apiKey);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout.length).toBeGreaterThan(0);

    const key = as(apiKey);
    try {
      // no `monitor`: the cluster state (every index's mappings and settings) stays out of reach
      await refused(key.cluster.state({ metric: 'metadata' }));
      await refused(key.indices.delete({ index: resultStream('drift', ns) }));
      // (delete-by-query lives in a module the integ-test distribution lacks: one document instead)
      // The role holds `delete` on mlmon-state (the join's pending outcomes), so a document delete
      // passes the request-level check: refused by security in an index of someone else's, and by
      // the data stream itself in a result stream (400: only `create` writes), which stays whole.
      await admin.index({ index: `other-${ns}`, id: 'y', document: { a: 1 }, refresh: true });
      await refused(key.delete({ index: `other-${ns}`, id: 'y' }));
      const drift = await count(resultStream('drift', ns));
      await expect(key.delete({ index: resultStream('drift', ns), id: 'none' })).rejects.toMatchObject({
        statusCode: 400,
      });
      expect(await count(resultStream('drift', ns))).toBe(drift);
      await refused(key.index({ index: logStream('prediction', ns), op_type: 'create', document: { a: 1 } }));
      await refused(
        key.indices.putIndexTemplate({ name: `evil-${ns}`, index_patterns: [`evil-${ns}-*`], template: {} }),
      );
      await admin.index({ index: `other-${ns}`, document: { secret: 1 }, refresh: true });
      await refused(key.search({ index: `other-${ns}` }));
    } finally {
      await key.close();
    }
  });
});

describe('a key that may not write the namespace (issue 25 item 3, live)', () => {
  it('logger and mlmon collect hold the events, never call them delivered, and deliver them once with the right key', async () => {
    const target = `${ns}_held`;
    const stream = logStream('prediction', target);
    // A key confined to another namespace, from `mlmon roles --namespace` (the per-namespace role
    // mlmon ships): it writes its own namespace, and only that.
    const other = `${ns}_other`;
    const printed = await mlmon(['roles', '--namespace', other, '--role', 'logger'], '');
    expect(printed.code, printed.stderr).toBe(0);
    const narrow = await createKey('mlmon-logger-narrow', {
      [`mlmon-logger-${other}`]: JSON.parse(printed.stdout) as object,
    });
    const own = loggerWith(narrow, other);
    own.logPrediction({ id: 'own-1', features: { amount: 1 } });
    expect(await own.flush(60_000)).toBe(true);
    expect((await own.close()).pending).toBe(0);
    expect(await count(logStream('prediction', other))).toBe(1);

    const warnings: string[] = [];
    const spoolDir = join(work, 'held-spool');
    const logger = loggerWith(narrow, target, {
      spool: { dir: spoolDir },
      onWarning: (m) => warnings.push(m),
    });
    for (let i = 0; i < 3; i++) logger.logPrediction({ id: `h-${i}`, features: { amount: i } });
    expect(await logger.flush()).toBe(false);
    const closed = await logger.close({ timeoutMs: 2_000 });
    // (Built by issue 25 item 3; before it: 403 per item, dead letter 403 too, dropped, flush() true, pending 0.)
    expect(closed).toMatchObject({ indexed: 0, dropped: 0, deadLettered: 0, pending: 3 });
    const named = warnings.filter((w) => w.includes(`create_doc privilege on ${stream}`));
    expect(named, warnings.join('\n')).toHaveLength(1);
    expect(await count(stream)).toBe(0);

    // mlmon collect with the same key: accepted into the spool and said so (202, held), neither
    // 200 (45d13bb answered 200 {indexed: 0, spooled: 2}: a plain "done" to any client) nor 503
    // "spool full" (what the issue saw, with the event dropped). A KServe agent never retries, so
    // a 403 or 503 would lose the event on its side; the collector has it safe in its spool.
    const collectSpool = join(work, 'held-collect-spool');
    const answer = await collect(
      narrow,
      [
        { id: 'hc-1', model: { name: MODEL, version: '1' }, features: { amount: 1 } },
        { id: 'hc-2', model: { name: MODEL, version: '1' }, features: { amount: 2 } },
      ],
      { namespace: target, spoolDir: collectSpool },
    );
    expect(answer.status, answer.body).toBe(202);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(body).toMatchObject({ indexed: 0, spooled: 2, dropped: 0, status: 'held' });
    expect(String(body.reason)).toContain('Elasticsearch answered but did not store');
    expect(await count(stream)).toBe(0);

    // The right key: collect restarted on its spool, and `mlmon spool flush` for the logger's,
    // deliver each event once.
    const loggerKey = keys['mlmon-logger'] as string;
    await collect(loggerKey, [], {
      namespace: target,
      spoolDir: collectSpool,
      until: async () => (await count(stream)) >= 2,
    });
    const flushed = await mlmon(['spool', 'flush', '--dir', spoolDir], loggerKey);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(await count(stream)).toBe(5);
  });
});

/** A TCP pass-through to the node (TLS goes through untouched) that can be taken down and up. */
async function proxy(target: URL): Promise<{ url: string; down(): Promise<void>; up(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    down: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
    up: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
  };
}

describe('the shipped logger key after an outage', () => {
  // The shipper's outage probe asks nodes info (the role's `cluster:monitor/nodes/info`); it asked
  // `_cluster/health` before, which this role may not: every probe was a 403 read as "still down",
  // and the spool waited for a new event (this test failed then).
  it('delivers its spool once the node is back, without a new event', async () => {
    const apiKey = keys['mlmon-logger'] as string;
    const target = `${ns}_outage`;
    const through = await proxy(new URL(url()));
    await through.down();
    const logger = loggerWith(apiKey, target, {
      node: through.url,
      spool: { dir: join(work, 'outage-spool') },
      retryMaxMs: 1_000,
    });
    try {
      for (let i = 0; i < 5; i++) logger.logPrediction({ id: `o-${i}`, features: { amount: i } });
      expect(await logger.flush(3_000)).toBe(false);
      await through.up();
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await logger.flush(8_000)).toBe(true);
      expect(await count(logStream('prediction', target))).toBe(5);
    } finally {
      await logger.close({ timeoutMs: 1_000 });
      await through.down().catch(() => undefined);
    }
  });
});

/**
 * Starts `mlmon collect` with one API key, posts the events (if any), waits for `until` (if
 * given), and stops it with SIGTERM.
 */
async function collect(
  apiKey: string,
  events: object[],
  options: { namespace?: string; spoolDir?: string; until?: () => Promise<boolean> } = {},
): Promise<{ status: number; body: string; ready: unknown }> {
  const config = join(work, 'collect.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      namespace: options.namespace ?? ns,
      collector: { spoolDir: options.spoolDir ?? join(work, 'collect-spool'), port: 0 },
    }),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'collect', '--config', config],
    { cwd: ROOT, env: mlmonEnv(apiKey), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  try {
    const deadline = Date.now() + 120_000;
    let base: string | undefined;
    while (!base) {
      base = /listening on (http:\/\/\S+) /.exec(stdout)?.[1];
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`collect did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ready: unknown = await (await fetch(`${base}/readyz`)).json();
    let answer = { status: 0, body: '', ready };
    if (events.length > 0) {
      const response = await fetch(`${base}/v1/predictions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
      answer = { status: response.status, body: await response.text(), ready };
    }
    while (options.until && !(await options.until())) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`collect did not deliver: ${stderr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return answer;
  } finally {
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
  }
}
