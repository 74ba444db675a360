/**
 * Issue 28 item 2 on a real 3-node cluster: a node stopped while an index has no replicas leaves a
 * shard unassigned, and Elasticsearch answers searches from the other shards by default. The
 * analyzer (drift and quality through the profiles' reference window), the join and the
 * performance job must refuse such an answer (src/elastic/search.ts), write nothing, and compute
 * the window in full once the node is back.
 *
 * Expected numbers: 3,000 predictions are written into the analyzed hour (this file), so a complete
 * answer counts 3,000 and labels all of them; a partial one would count about two thirds (one of
 * three primaries missing).
 */
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyze } from '../../src/analyzer/job.js';
import { runJoin } from '../../src/analyzer/join.js';
import { runPerformanceJob } from '../../src/analyzer/performance.js';
import { LocalMultiNodeCluster } from '../../tools/elasticsearch/local-cluster.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { streamNames } from '../../src/schema/streams.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { uniqueNamespace } from '../helpers/es.js';
import { bulkCreate, normal, seededRandom } from '../performance/fixtures.js';

const HOUR = 3_600_000;
const PER_HOUR = 3000;
const MODEL = 'partial';
const version = inject('esVersion') === 'unknown' ? undefined : inject('esVersion');
const cluster = new LocalMultiNodeCluster({
  name: `partial-${process.pid}`,
  nodes: 3,
  version,
  log: () => {},
});
const namespace = uniqueNamespace('partial');
const streams = streamNames(namespace);
const reference = alignDown(Date.now(), HOUR) - 4 * HOUR;
const window = { start: new Date(reference + HOUR), end: new Date(reference + 2 * HOUR) };
let client: Client;

beforeAll(async () => {
  await cluster.start();
  client = new Client({ nodes: cluster.urls, requestTimeout: 120_000 });
  await installTemplates(client, { shards: { primaries: 3 } });
  const random = seededRandom(28);
  const predictions = [];
  const outcomes = [];
  for (let i = 0; i < 2 * PER_HOUR; i++) {
    const x = normal(random);
    const id = `p-${i}`;
    const score = 1 / (1 + Math.exp(-x));
    predictions.push({
      id,
      document: {
        '@timestamp': new Date(reference + (i * HOUR) / PER_HOUR).toISOString(),
        prediction: { id, score, label: score >= 0.5 ? '1' : '0' },
        model: { name: MODEL, version: '1' },
        features: { x },
      },
    });
    outcomes.push({
      document: {
        '@timestamp': new Date(reference + 3 * HOUR).toISOString(),
        prediction: { id },
        model: { name: MODEL, version: '1' },
        actual: { label: random() < score ? '1' : '0' },
      },
    });
  }
  await bulkCreate(client, streams.prediction, predictions);
  await bulkCreate(client, streams.outcome, outcomes);
  // No replicas: a stopped node takes its primary with it.
  for (const index of [streams.prediction, streams.outcome])
    await client.indices.putSettings({
      index,
      settings: { index: { auto_expand_replicas: 'false', number_of_replicas: 0 } },
    });
  await client.cluster.health({ wait_for_status: 'green', timeout: '120s' });
}, 900_000);

afterAll(async () => {
  await client?.close();
  await cluster.stop();
  cluster.removeData();
}, 180_000);

const driftCount = (c: Client) =>
  analyze(c, {
    namespace,
    model: MODEL,
    version: '1',
    from: window.start,
    to: window.end,
    windowMs: HOUR,
    reference: { type: 'window', from: new Date(reference), to: window.start },
    write: true,
    refresh: true,
  }).then((r) => r.versions[0]?.windows[0]?.count);

const labelCoverage = (c: Client) =>
  runPerformanceJob(c, { namespace, model: MODEL, version: '1', task: 'binary', window, write: true }).then(
    (r) =>
      (
        r.documents.find((d) => d.document.segment === undefined)?.document.performance as {
          label_coverage?: number;
        }
      )?.label_coverage,
  );

describe('a node stopped, an index without replicas', () => {
  it('refuses partial answers, writes nothing, and computes the whole window once the node is back', async () => {
    // Stop a node that holds a primary of the prediction stream and is not the elected master
    // (the cluster keeps a master and answers; only the shard is missing).
    const master = (await client.cat.master({ format: 'json' }))[0]?.node as string;
    const shards = await client.cat.shards({ index: streams.prediction, format: 'json' });
    const holders = new Set(shards.map((s) => s.node as string));
    const victimName = [...holders].find((n) => n !== master) as string;
    const victim = Number(/node-(\d+)/.exec(victimName)?.[1]);
    expect([0, 1, 2]).toContain(victim);
    await cluster.killNode(victim);
    const survivor = new Client({ node: cluster.urls[(victim + 1) % 3] as string, requestTimeout: 120_000 });
    try {
      await survivor.cluster.health({ wait_for_nodes: '2', timeout: '120s' });

      await expect(driftCount(survivor)).rejects.toThrow();
      await expect(runJoin(survivor, { namespace, model: MODEL })).rejects.toThrow();
      await expect(labelCoverage(survivor)).rejects.toThrow();
      // Nothing was written for the window.
      await survivor.indices.refresh({ index: `metrics-mlmon.*-${namespace}`, ignore_unavailable: true });
      const written = await survivor.count({
        index: `metrics-mlmon.*-${namespace}`,
        ignore_unavailable: true,
      });
      expect(written.count).toBe(0);
    } finally {
      await survivor.close();
    }

    await cluster.startNode(victim);
    await client.cluster.health({ wait_for_status: 'green', timeout: '300s' });
    expect(await driftCount(client)).toBe(PER_HOUR);
    const joined = await runJoin(client, { namespace, model: MODEL });
    expect(joined.created).toBe(2 * PER_HOUR);
    expect(await labelCoverage(client)).toBe(1);
  });
});
