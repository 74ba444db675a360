/**
 * A small seeded replay for the report tests, analyzed by the real analyzer: two days of a binary
 * model whose name and one feature name are hostile strings, logged into a real Elasticsearch; a
 * baseline profiled from the first half of day 1; day 1 and day 2 analyzed in 6-hour windows
 * (drift, quality, performance, service). Day 2's last two windows have the hostile feature shifted
 * by 3 reference standard deviations and a new category of `plan`.
 */
import type { Client } from '@elastic/elasticsearch';
import { runFullAnalysis } from '../../src/analyzer/run.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { profileFromElasticsearch } from '../../src/profiles/from-elasticsearch.js';
import { saveBaseline } from '../../src/profiles/store.js';
import { logStream } from '../../src/schema/streams.js';
import { bulkCreate, normal, seededRandom } from '../performance/fixtures.js';

export const HOSTILE_FEATURE = '<img src=x onerror=alert(1)>';
export const HOSTILE_MODEL = '"; DROP';
export const HOSTILE_CATEGORY = '<script>alert(2)</script>';
export const DAY = 86_400_000;
export const WINDOW_MS = 6 * 3_600_000;
/** Day 1 (previous period) and day 2 (the report's period). */
export const DAY1 = Date.parse('2026-03-01T00:00:00Z');
export const DAY2 = DAY1 + DAY;
export const PER_WINDOW = 240;
/** Every 40th prediction fails (event.outcome failure): 6 per window, 24 per day. */
export const FAIL_EVERY = 40;

export interface ReplayFacts {
  /** Predictions logged on day 2 (failed ones included). */
  day2Predictions: number;
  day2Failures: number;
  /** Realised accuracy per day-2 window start (ISO), counted here from the generated rows (failed ones excluded). */
  day2Accuracy: Map<string, number>;
}

/** Writes the replay into `namespace`, stores the baseline, analyzes both days. */
export async function seedReplay(client: Client, namespace: string): Promise<ReplayFacts> {
  await installTemplates(client);
  const random = seededRandom(20260301);
  const docs: Array<{ id: string; document: Record<string, unknown> }> = [];
  const facts: ReplayFacts = { day2Predictions: 0, day2Failures: 0, day2Accuracy: new Map() };
  for (let w = 0; w < 8; w++) {
    const windowStart = DAY1 + w * WINDOW_MS;
    const shifted = w >= 6; // day 2, windows 3 and 4
    let correct = 0;
    let labelled = 0;
    for (let i = 0; i < PER_WINDOW; i++) {
      const at = windowStart + Math.floor((i * WINDOW_MS) / PER_WINDOW);
      const hostile = normal(random) + (shifted ? 3 : 0);
      const tenure = 10 + 2 * normal(random);
      const score = 1 / (1 + Math.exp(-(tenure - 10) / 2));
      const label = score >= 0.5 ? '1' : '0';
      const actual = random() < score ? '1' : '0';
      const failed = i % FAIL_EVERY === FAIL_EVERY - 1;
      const plan = shifted && i % 10 === 0 ? HOSTILE_CATEGORY : random() < 0.6 ? 'basic' : 'pro';
      const id = `${namespace}-${w}-${i}`;
      docs.push({
        id,
        document: {
          '@timestamp': new Date(at).toISOString(),
          prediction: { id, label, score },
          actual: { label: actual },
          model: { name: HOSTILE_MODEL, version: '1' },
          features: { [HOSTILE_FEATURE]: hostile, tenure, plan },
          event: {
            duration: Math.round((2 + 8 * random()) * 1e6),
            ...(failed ? { outcome: 'failure' } : {}),
          },
          ...(failed ? { error: { type: 'Timeout', message: 'model server timed out' } } : {}),
        },
      });
      if (w >= 4) {
        facts.day2Predictions++;
        if (failed) facts.day2Failures++;
      }
      if (!failed) {
        labelled++;
        if (label === actual) correct++;
      }
    }
    if (w >= 4) facts.day2Accuracy.set(new Date(windowStart).toISOString(), correct / labelled);
  }
  let t = Date.now();
  const lap = (what: string) => {
    if (process.env.MLMON_TEST_TIMINGS) process.stderr.write(`${what}: ${Date.now() - t} ms\n`);
    t = Date.now();
  };
  await bulkCreate(client, logStream('prediction', namespace), docs);
  lap('predictions');
  const profile = await profileFromElasticsearch(client, {
    namespace,
    model: HOSTILE_MODEL,
    version: '1',
    from: new Date(DAY1),
    to: new Date(DAY1 + 2 * WINDOW_MS),
  });
  await saveBaseline(client, { model: HOSTILE_MODEL, version: '1', namespace }, profile, { replace: true });
  lap('baseline');
  await runFullAnalysis(client, {
    namespace,
    model: HOSTILE_MODEL,
    from: new Date(DAY1),
    to: new Date(DAY2 + DAY),
    windowMs: WINDOW_MS,
    windowSize: '6h',
    reference: { type: 'baseline' },
    task: 'binary',
    refresh: true,
  });
  lap('analysis');
  return facts;
}
