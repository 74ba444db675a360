/**
 * `mlmon spool status | flush --dir D` against the real Elasticsearch: a spool written by a logger
 * whose cluster was unreachable (port 1: connection refused) is counted, then delivered exactly once.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spoolCommand } from '../../src/cli/commands/spool.js';
import { createPredictionLogger } from '../../src/logger/index.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, ensureTemplates } from '../logger/helpers.js';

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;

beforeAll(() => ensureTemplates(client));
afterAll(() => client.close());

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const stdout = new Sink();
  const stderr = new Sink();
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await spoolCommand(argv, { stdout, stderr });
    return { code, stdout: stdout.text, stderr: stderr.text };
  } finally {
    process.env = saved;
  }
}

/** A spool left by a logger that never reached Elasticsearch: `n` predictions, ids `${prefix}-<i>`. */
async function spoolOf(n: number, ns: string, prefix: string): Promise<{ dir: string; ids: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'mlmon-cli-spool-'));
  const logger = createPredictionLogger({
    node: 'http://127.0.0.1:1',
    namespace: ns,
    model: { name: 'spoolcli' },
    spool: { dir },
    onWarning: () => {},
  });
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push(logger.logPrediction({ id: `${prefix}-${i}`, features: { x: i }, prediction: { score: 0.5 } }));
  const result = await logger.close({ timeoutMs: 200 });
  expect(result.pending).toBe(n);
  return { dir, ids };
}

describe('mlmon spool', () => {
  it('status counts files, documents, bytes and the oldest; flush delivers each exactly once', async () => {
    const ns = uniqueNamespace('spoolcli');
    const { dir, ids } = await spoolOf(1234, ns, 'c');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ndjson'));
    const bytes = files.reduce((sum, f) => sum + readFileSync(join(dir, f)).length, 0);

    const status = await run(['status', '--dir', dir, '--format', 'json']);
    expect(status.code).toBe(0);
    const census = JSON.parse(status.stdout) as Record<string, unknown>;
    // 1,234 logged, none delivered: 1,234 lines in the files counted above.
    expect(census).toMatchObject({ dir, files: files.length, events: 1234, bytes, liveFiles: 0 });
    expect(Date.parse(census.oldest as string)).toBeGreaterThan(Date.now() - 600_000);
    const table = await run(['status', '--dir', dir]);
    expect(table.stdout).toMatch(
      new RegExp(`^spool ${dir}: 1234 document\\(s\\) in ${files.length} file\\(s\\), ${bytes} bytes`),
    );

    // Unreachable cluster: exit 1, one line, the spool untouched.
    const down = await run(['flush', '--dir', dir], { ES_URL: 'http://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(
      (JSON.parse((await run(['status', '--dir', dir, '--format', 'json'])).stdout) as { events: number })
        .events,
    ).toBe(1234);

    const flushed = await run(['flush', '--dir', dir], { ES_URL: esUrl() });
    expect(flushed.code).toBe(0);
    expect(flushed.stdout).toContain(
      'read 1234 document(s) from the spool: 1234 indexed (0 of them already there)',
    );
    expect(flushed.stdout).toContain('left: nothing');
    expect(compareIds(ids, await countsById(client, `logs-mlmon.prediction-${ns}`))).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
    expect((await run(['status', '--dir', dir])).stdout).toBe(`spool ${dir}: empty\n`);
  }, 120_000);

  it('a missing directory is a usage error, not an empty spool', async () => {
    const missing = join(tmpdir(), `mlmon-no-such-spool-${Date.now()}`);
    for (const sub of ['status', 'flush']) {
      const ran = await run([sub, '--dir', missing]);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(`--dir ${missing}: no such directory`);
    }
    expect((await run(['status'])).code).toBe(2); // --dir is required
  });
});
