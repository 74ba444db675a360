/**
 * Two `mlmon collect` replicas (child processes, each with its own spool), as two pods behind a
 * Service: KServe's agent posts each half of an inference separately, so the halves land on
 * either replica, in any order, sometimes twice; one replica is SIGKILLed and restarted mid-way.
 * Every inference whose two halves were acknowledged must be stored exactly once, with its output,
 * and no split pair may end in the dead letters. (On main 6a74b31 a pair lived in one process's
 * memory: halves split between replicas became two `*-unpaired` dead letters each.)
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateDowngradeError } from '../../src/elastic/templates.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { compareIds, countsById, ensureTemplates, sleep, tempSpoolDir } from '../logger/helpers.js';
import { startChild, type Running } from './child.js';

const client = testClient();
const esUrl = () => client.connectionPool.connections[0]?.url.toString() as string;
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/kserve-v1.json', import.meta.url), 'utf8'),
) as Record<'request' | 'response', { headers: Record<string, string>; body: unknown }>;

/** Mulberry32: a seeded generator, so a failure can be replayed with the same split and order. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  // A cluster shared with a newer checkout may hold newer templates: those serve as well.
  await ensureTemplates(client).catch((error: unknown) => {
    if (!(error instanceof TemplateDowngradeError)) throw error;
  });
});

afterAll(async () => {
  await client.close();
});

describe('two collector replicas', () => {
  it('200 KServe pairs split at random, reordered, some twice, one replica SIGKILLed: each stored once, 0 dead letters', async () => {
    const ns = uniqueNamespace('replicas');
    const dirs = [tempSpoolDir('replica-a'), tempSpoolDir('replica-b')];
    const settings = { pairTimeout: '15s' };
    const replicas: Running[] = await Promise.all(dirs.map((d) => startChild(d, ns, esUrl(), settings)));
    const rnd = random(24);
    type Send = { id: string; role: 'request' | 'response' };
    const sends: Send[] = [];
    for (let i = 0; i < 200; i++) {
      const id = `rep-${i}`;
      sends.push({ id, role: 'request' }, { id, role: 'response' });
      // One pair in five has a half sent twice (KServe does not retry, a proxy might).
      if (rnd() < 0.2) sends.push({ id, role: rnd() < 0.5 ? 'request' : 'response' });
    }
    // Random order within blocks of 24 sends (Fisher-Yates): a response often comes before its
    // request, and the halves of one inference stay seconds apart, as from one model server.
    for (let start = 0; start < sends.length; start += 24) {
      const end = Math.min(sends.length, start + 24);
      for (let i = end - 1; i > start; i--) {
        const j = start + Math.floor(rnd() * (i - start + 1));
        [sends[i], sends[j]] = [sends[j] as Send, sends[i] as Send];
      }
    }
    const acked = new Map<string, Set<string>>();
    let killed = false;
    let restarted: Promise<void> | undefined;
    const post = async (s: Send, replica: number): Promise<boolean> => {
      const half = fixture[s.role];
      try {
        const r = await fetch(`${(replicas[replica] as Running).url}/v1/events`, {
          method: 'POST',
          headers: { ...half.headers, 'ce-id': s.id },
          body: JSON.stringify(half.body),
        });
        if (r.status !== 200) return false;
        const roles = acked.get(s.id) ?? new Set();
        roles.add(s.role);
        acked.set(s.id, roles);
        return true;
      } catch {
        return false; // the replica died under this request: not acknowledged
      }
    };
    let next = 0;
    const worker = async () => {
      while (next < sends.length) {
        const n = next++;
        const s = sends[n] as Send;
        if (n === Math.floor(sends.length / 2) && !killed) {
          // Mid-way: SIGKILL replica 1 (no shutdown at all), restart it on the same spool.
          killed = true;
          const dead = replicas[1] as Running;
          dead.child.kill('SIGKILL');
          restarted = dead.exited.then(async () => {
            replicas[1] = await startChild(dirs[1] as string, ns, esUrl(), settings);
          });
        }
        const first = rnd() < 0.5 ? 0 : 1;
        // As a Service does: a refused connection goes to the other pod.
        if (!(await post(s, first))) await post(s, 1 - first);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await restarted;
    try {
      const complete = [...acked].filter(([, roles]) => roles.size === 2).map(([id]) => id);
      expect(complete.length).toBe(200);
      // The V1 fixture holds two instances: <id>-0 and <id>-1.
      const expected = complete.flatMap((id) => [`${id}-0`, `${id}-1`]);
      const index = `logs-mlmon.prediction-${ns}`;
      let result = compareIds(expected, new Map());
      for (const until = Date.now() + 120_000; Date.now() < until; await sleep(500)) {
        result = compareIds(expected, await countsById(client, index));
        if (result.missing.length === 0) break;
      }
      expect(result).toEqual({ missing: [], duplicated: [], unexpected: [] });
      // Each with its output: a pair, not a request stored alone.
      await client.indices.refresh({ index });
      const withoutOutput = await client.count({
        index,
        // Without a mapping the V1 output [1, 1] is a number per row: prediction.value.
        query: { bool: { must_not: { exists: { field: 'prediction.value' } } } },
      });
      expect(withoutOutput.count).toBe(0);
      // Halves re-sent after their pair was stored wait out the 15 s and are settled by a sweep
      // (found stored: no new document). Once the pairs index is empty: no dead letter at all.
      let waiting = -1;
      for (const until = Date.now() + 120_000; Date.now() < until && waiting !== 0; await sleep(1000)) {
        await client.indices.refresh({ index: `mlmon-pairs-${ns}` });
        waiting = (await client.count({ index: `mlmon-pairs-${ns}` })).count;
      }
      expect(waiting).toBe(0);
      await client.indices.refresh({ index: `logs-mlmon.deadletter-${ns}`, ignore_unavailable: true });
      const letters = await client.count({ index: `logs-mlmon.deadletter-${ns}`, ignore_unavailable: true });
      expect(letters.count).toBe(0);
      const again = compareIds(expected, await countsById(client, index));
      expect(again.duplicated).toEqual([]);
    } finally {
      for (const r of replicas) r.child.kill('SIGTERM');
      await Promise.all(replicas.map((r) => r.exited));
    }
  }, 300_000);
});
