/**
 * Issue 28 item 4: `mlmon analyze --from <unaligned> --to now` writes one result per aligned
 * window, under the scheduler's id (window start and end on the window grid), and says on stderr
 * that it widened the range. Expected: predictions in the previous hour and the current one, so
 * two whole 1 h windows, each [k·1h, (k+1)·1h).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzeCommand } from '../../src/cli/commands/analyze.js';
import { installTemplates } from '../../src/elastic/templates.js';
import { streamNames } from '../../src/schema/streams.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace, writePredictions } from '../performance/fixtures.js';

const HOUR = 3_600_000;
const client = testClient();
const namespace = uniqueNamespace('whole');

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('mlmon analyze writes whole windows', () => {
  beforeAll(() => installTemplates(client));
  afterAll(async () => {
    await dropNamespace(client, namespace, ['whole']);
    await client.close();
  });

  it(
    'an unaligned --from and --to now widen to the aligned windows, said on stderr',
    { timeout: 240_000 },
    async () => {
      const now = Date.now();
      const current = alignDown(now, HOUR);
      await writePredictions(
        client,
        namespace,
        // 100 predictions a minute apart from the previous hour, the last just before now (both
        // hours have predictions whatever the minute now is).
        Array.from({ length: 100 }, (_, i) => ({
          '@timestamp': new Date(i === 99 ? now - 1 : current - HOUR + i * 60_000 + 1).toISOString(),
          prediction: { id: `w-${i}`, score: 0.5, label: '1' },
          model: { name: 'whole', version: '1' },
          features: { x: i },
          event: { duration: 1_000_000 },
        })).filter((d) => Date.parse(d['@timestamp']) < now),
      );
      const stdout = new Sink();
      const stderr = new Sink();
      const saved = process.env.ES_URL;
      process.env.ES_URL = inject('esUrl');
      try {
        const from = new Date(current - HOUR + 30 * 60_000).toISOString();
        const code = await analyzeCommand(
          ['--model', 'whole', '--namespace', namespace, '--from', from, '--to', 'now', '--window', '1h'],
          { stdout, stderr },
        );
        expect(code).toBe(0);
      } finally {
        process.env.ES_URL = saved;
      }
      expect(stderr.text).toContain(
        `note: widened to whole 1h windows: ${new Date(current - HOUR).toISOString()} to ${new Date(current + HOUR).toISOString()}`,
      );
      const index = streamNames(namespace).service;
      await client.indices.refresh({ index });
      const docs = await client.search<{ window: { start: string; end: string } }>({ index, size: 10 });
      const windows = docs.hits.hits.map((h) => `${h._source?.window.start}/${h._source?.window.end}`).sort();
      expect(windows).toEqual([
        `${new Date(current - HOUR).toISOString()}/${new Date(current).toISOString()}`,
        `${new Date(current).toISOString()}/${new Date(current + HOUR).toISOString()}`,
      ]);
    },
  );
});
