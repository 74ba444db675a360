/**
 * A logger with the shipped logger role started before anyone ran `mlmon setup` (issue 26 item 1,
 * issue 25 item 4), on a secured node of its own: setup must never have run on it, and the other
 * security files run `mlmon setup` on the shared one (the integ-test distribution cannot delete
 * data streams, so the shared node cannot be taken back to "before setup").
 *
 * The logger may not install the templates (403); nothing is created (no plain index with guessed
 * mappings); the events wait and the warning says to run `mlmon setup`. After `mlmon setup` (the
 * setup role), the same running logger delivers them, each once, into the data stream made from
 * mlmon's template, and `mlmon analyze` (the analyzer role) works on them. The roles are held by
 * the node's file-realm users (`roles.yml` written from security/*.json).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../tools/elasticsearch/local-cluster.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { logStream, resultStream } from '../../src/schema/streams.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HOUR = 3_600_000;
const NS = 'before_setup';
const MODEL = 'before-setup-model';
let node: LocalCluster;
let admin: Client;
let work: string;

const access = () => {
  const a = node.access;
  if (!a) throw new Error('a secured node has access');
  return a;
};
const user = (role: string) => ({ username: role, password: access().roleUsers[role] ?? '' });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mlmon-before-setup-'));
  // An empty data directory (keepData false): templates were never installed here.
  node = new LocalCluster({ name: 'before-setup', security: true, heap: '512m' });
  await node.start();
  admin = new Client({
    node: node.url,
    auth: { username: access().username, password: access().password },
    tls: { ca: readFileSync(access().caCert, 'utf8') },
  });
});

afterAll(async () => {
  await admin?.close();
  await node?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** `mlmon …` as a child process, as one file-realm user holding a shipped role. */
function mlmon(args: string[], role: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const { username, password } = user(role);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MLMON_DEBUG: '',
      ES_URL: node.url,
      ES_CA_CERT: access().caCert,
      ES_USERNAME: username,
      ES_PASSWORD: password,
    };
    delete env.ES_API_KEY;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr }));
  });
}

describe('a logger with the shipped logger role, before mlmon setup', () => {
  it('may not install templates, creates nothing, waits; after mlmon setup delivers each event once into the data stream', async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const N = 40;
    const warnings: string[] = [];
    const logger = createPredictionLogger({
      node: node.url,
      ...user('mlmon-logger'),
      caCert: access().caCert,
      namespace: NS,
      model: { name: MODEL, version: '1' },
      spool: { dir: join(work, 'spool') },
      onWarning: (m) => warnings.push(m),
    });
    for (let i = 0; i < N; i++)
      logger.logPrediction({
        id: `p-${i}`,
        timestamp: start + Math.floor((i * HOUR) / N),
        features: { amount: i, channel: i % 2 ? 'web' : 'app' },
        prediction: { label: i % 3 ? '1' : '0', score: (i % 10) / 10 },
        latencyMs: 5 + (i % 7),
      });
    // The documents are held (spooled), said in one line per cause; not delivered, and flush() says so.
    const waitingLine = `${logStream('prediction', NS)} is not a data stream`;
    for (let t = Date.now(); !warnings.some((w) => w.includes(waitingLine));) {
      if (Date.now() - t > 90_000) throw new Error(`no hold warning: ${warnings.join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // (flush() waits out its timeout while documents are held: 2 s here, not the default 30 s)
    expect(await logger.flush(2_000)).toBe(false);
    const install = warnings.filter((w) => w.includes("could not install mlmon's index templates"));
    expect(install, warnings.join('\n')).toHaveLength(1);
    // Elasticsearch's refusal passed on (403 security_exception: the role may not manage templates)
    expect(install[0]).toContain('security_exception');
    expect(install[0]).toContain('is unauthorized for user [mlmon-logger]');
    expect(install[0]).toContain('run `mlmon setup`');
    const waiting = warnings.filter((w) => w.includes(waitingLine));
    expect(waiting, warnings.join('\n')).toHaveLength(1);
    expect(waiting[0]).toContain('run `mlmon setup`');
    // The role could not install the templates, and nothing was created in the stream's place
    // (before issue 25: a plain index logs-mlmon.prediction-<ns> with guessed mappings).
    expect(await admin.indices.existsIndexTemplate({ name: 'mlmon-prediction' })).toBe(false);
    const before = await admin.indices.resolveIndex({ name: '*mlmon*', expand_wildcards: 'all' });
    expect([...before.indices, ...before.data_streams].map((i) => i.name)).toEqual([]);

    const setup = await mlmon(['setup', '--format', 'json'], 'mlmon-setup');
    expect(setup.code, setup.stderr).toBe(0);

    // The same logger, still running, delivers what waited.
    expect(await logger.flush(60_000), warnings.join('\n')).toBe(true);
    const closed = await logger.close({ timeoutMs: 60_000 });
    expect(closed).toMatchObject({ pending: 0, dropped: 0, deadLettered: 0 });
    const stream = logStream('prediction', NS);
    await admin.indices.refresh({ index: stream });
    const after = await admin.indices.resolveIndex({ name: stream, expand_wildcards: 'all' });
    expect(after.data_streams.map((d) => d.name)).toEqual([stream]);
    expect(after.indices.every((i) => i.name.startsWith('.ds-'))).toBe(true);
    // Each once: N documents, N distinct prediction ids.
    const ids = await admin.search({
      index: stream,
      size: 0,
      track_total_hits: true,
      aggs: { ids: { cardinality: { field: 'prediction.id' } } },
    });
    expect(ids.hits.total).toMatchObject({ value: N });
    expect((ids.aggregations?.ids as { value: number }).value).toBe(N);
    // The template's mappings, not guessed ones: model.version is a keyword (analyze aggregates on it).
    const field = await admin.indices.getFieldMapping({ index: stream, fields: 'model.version' });
    for (const index of Object.values(field))
      expect(Object.values(index.mappings)[0]?.mapping).toEqual({ version: { type: 'keyword' } });

    const iso = (t: number) => new Date(t).toISOString();
    const analyzed = await mlmon(
      [
        'analyze',
        ...['--model', MODEL, '--namespace', NS, '--from', iso(start), '--to', iso(start + HOUR)],
        ...['--window', '1h', '--format', 'json'],
      ],
      'mlmon-analyzer',
    );
    expect(analyzed.code, analyzed.stderr).toBe(0);
    await admin.indices.refresh({ index: resultStream('service', NS) });
    const service = await admin.count({ index: resultStream('service', NS) });
    expect(service.count).toBeGreaterThanOrEqual(1);
  });
});
