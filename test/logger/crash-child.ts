/**
 * Child process for the crash test: logs predictions to an Elasticsearch that is down, waits until
 * all of them are in the spool, says READY on stdout, and waits to be killed with SIGKILL.
 *
 *   node --import tsx test/logger/crash-child.ts <url> <namespace> <spoolDir> <count>
 */
import { createPredictionLogger } from '../../src/logger/index.js';

const [url, namespace, dir, countText] = process.argv.slice(2);
const count = Number(countText);
const logger = createPredictionLogger({
  node: url,
  namespace,
  model: { name: 'crash', version: '1' },
  spool: { dir, fsync: 'always' },
  flushIntervalMs: 100,
  retryBaseMs: 100,
  retryMaxMs: 500,
  onWarning: () => {},
});
const ids: string[] = [];
for (let i = 0; i < count; i++)
  ids.push(logger.logPrediction({ features: { i, half: i % 2 ? 'odd' : 'even' }, prediction: { value: i } }));
process.stdout.write(`IDS ${JSON.stringify(ids)}\n`);
const timer = setInterval(() => {
  const shipper = logger.transport.core.shipper;
  if (logger.counters.spooled >= count && shipper.pendingInMemory === 0) {
    process.stdout.write(`READY ${JSON.stringify(logger.counters)}\n`);
    clearInterval(timer);
    setInterval(() => {}, 1000); // stay alive until killed
  }
}, 50);
