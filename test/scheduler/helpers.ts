/** Shared pieces of the scheduler tests: predictions in Elasticsearch, scheduler child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import { parseLogLines, type LogRecord } from '../../src/scheduler/log.js';
import { logStream, STATE_INDEX } from '../../src/schema/streams.js';
import { checkpointId, windowStateId, type JobTarget, type WindowState } from '../../src/scheduler/state.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface Prediction {
  at: number;
  features: Record<string, number>;
  version?: string;
}

/** Indexes predictions of model `model` into `logs-mlmon.prediction-{namespace}` and refreshes. */
export async function writePredictions(
  client: Client,
  namespace: string,
  model: string,
  predictions: Prediction[],
): Promise<void> {
  let n = 0;
  const result = await client.helpers.bulk({
    datasource: predictions.map((p) => ({
      '@timestamp': new Date(p.at).toISOString(),
      prediction: { id: `${model}-${p.at}-${n++}`, score: 0.5 },
      model: { name: model, version: p.version ?? '1' },
      features: p.features,
    })),
    onDocument: () => ({ create: { _index: logStream('prediction', namespace) } }),
    refreshOnCompletion: true,
  });
  if (result.failed > 0) throw new Error(`${result.failed} predictions not indexed`);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mlmon-${prefix}-`));
}

export function writeConfig(dir: string, name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A scheduler process: its logs as they arrive, and how it ended. */
export class SchedulerProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: Record<string, string>, entry = 'test/helpers/schedule-entry.ts') {
    // `node --import tsx`, not the tsx CLI: the CLI runs the script in a grandchild process, which
    // a SIGKILL of the child would leave running.
    this.child = spawn(process.execPath, ['--import', 'tsx', entry, 'schedule', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (c: Buffer) => (this.stdout += c.toString('utf8')));
    this.child.stderr?.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    this.exited = new Promise((resolveExit) =>
      this.child.on('exit', (code, signal) => resolveExit({ code, signal })),
    );
  }

  logs(): LogRecord[] {
    return parseLogLines(this.stdout);
  }

  events(action: string): LogRecord[] {
    return this.logs().filter((r) => r['event.action'] === action);
  }

  /** Resolves with the first log record matching; rejects if the process exits first. */
  async waitFor(predicate: (r: LogRecord) => boolean, what: string, timeoutMs = 60_000): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const found = this.logs().find(predicate);
      if (found) return found;
      if (exited)
        throw new Error(`scheduler exited before ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`no ${what} within ${timeoutMs} ms\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Ends (SIGKILL) the processes of a test file that are still running, e.g. after a failed test. */
export function killStillRunning(processes: readonly SchedulerProcess[]): void {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
}

/** Window state documents (realtime get), in the order of `starts`. */
export async function windowStates(
  client: Client,
  target: JobTarget,
  starts: number[],
): Promise<Array<WindowState | undefined>> {
  const response = await client.mget<WindowState>({
    index: STATE_INDEX,
    ids: starts.map((s) => windowStateId(target, new Date(s))),
  });
  return response.docs.map((d) => ('found' in d && d.found ? d._source : undefined));
}

export async function checkpointOf(client: Client, target: JobTarget): Promise<number | undefined> {
  const found = await client.get<WindowState>(
    { index: STATE_INDEX, id: checkpointId(target) },
    { ignore: [404] },
  );
  const value = found._source?.state.checkpoint;
  return value ? Date.parse(value) : undefined;
}

/** Polls until every given window is settled (done or failed), or fails after `timeoutMs`. */
export async function waitUntilSettled(
  client: Client,
  target: JobTarget,
  starts: number[],
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<WindowState[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await windowStates(client, target, starts);
    if (states.every((s) => s?.state.kind === 'window' || s?.state.kind === 'failed'))
      return states as WindowState[];
    if (Date.now() > deadline)
      throw new Error(
        `windows not settled within ${timeoutMs} ms: ${JSON.stringify(states.map((s) => s?.state.kind ?? 'absent'))}\n${describe()}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Result documents per (window start, feature) in the drift stream of `namespace`. */
export async function resultCounts(
  client: Client,
  namespace: string,
  model: string,
): Promise<Map<string, number>> {
  const stream = `metrics-mlmon.drift-${namespace}`;
  await client.indices.refresh({ index: stream });
  const response = await client.search({
    index: stream,
    size: 0,
    query: { term: { 'model.name': model } },
    aggs: {
      windows: {
        terms: { field: 'window.start', size: 10_000 },
        aggs: { features: { terms: { field: 'feature.name', size: 10_000 } } },
      },
    },
  });
  type Bucket = { key: number | string; doc_count: number };
  const windows =
    (response.aggregations?.windows as { buckets: Array<Bucket & { features: { buckets: Bucket[] } }> })
      .buckets ?? [];
  const iso = (k: number | string) => new Date(typeof k === 'number' ? k : Date.parse(k)).toISOString();
  return new Map(
    windows.flatMap((w) =>
      w.features.buckets.map((f): [string, number] => [`${iso(w.key)}|${f.key}`, f.doc_count]),
    ),
  );
}
