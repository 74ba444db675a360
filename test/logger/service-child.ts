/**
 * A service process for test/logger/container.test.ts. Modes:
 *
 *   spool <url> <ns> <dir> <count> <staleMs>    logs to an unreachable <url> until all <count>
 *                                               events are in the spool, says READY, waits to be killed
 *   deliver <url> <ns> <dir> <count> <staleMs>  logs <count> new events, runs until the spool
 *                                               directory holds no file (at most 60 s), closes, says RESULT
 *   buffer <url> <ns> <dir> <count> [handler]   logs <count> events that stay in memory (long flush
 *                                               interval), says READY, waits for a signal; with `handler`
 *                                               it handles SIGTERM itself: close(), then exit 0
 *
 * Every mode prints `IDS [...]` and its `PID` (1 when started in a pid namespace of its own).
 */
import { readdirSync } from 'node:fs';
import { createPredictionLogger } from '../../src/logger/index.js';

const [mode, url, namespace, dir, countText, extra] = process.argv.slice(2);
const count = Number(countText);
const say = (line: string) => process.stdout.write(`${line}\n`);
const spoolFiles = () => readdirSync(dir as string).filter((f) => f.endsWith('.ndjson')).length;

const logger = createPredictionLogger({
  node: url,
  namespace,
  model: { name: 'service', version: '1' },
  spool: { dir, fsync: 'always', staleMs: mode === 'buffer' ? undefined : Number(extra) },
  flushIntervalMs: mode === 'buffer' ? 600_000 : 100,
  retryBaseMs: 100,
  retryMaxMs: 500,
  ensureTemplates: false,
  onWarning: (message) => process.stderr.write(`[child ${mode}] ${message}\n`),
});
const ids: string[] = [];
for (let i = 0; i < count; i++)
  ids.push(logger.logPrediction({ features: { i, mode }, prediction: { value: i } }));
say(`PID ${process.pid}`);
say(`IDS ${JSON.stringify(ids)}`);

const shipper = logger.transport.core.shipper;
if (mode === 'spool') {
  const timer = setInterval(() => {
    if (logger.counters.spooled >= count && shipper.pendingInMemory === 0) {
      say(`READY ${JSON.stringify(logger.counters)}`);
      clearInterval(timer);
      setInterval(() => {}, 1000); // stay alive until killed
    }
  }, 50);
} else if (mode === 'deliver') {
  const until = Date.now() + 60_000;
  for (;;) {
    const delivered = await logger.flush(5_000);
    if ((delivered && spoolFiles() === 0) || Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  say(`RESULT ${JSON.stringify(await logger.close())}`);
} else {
  if (extra === 'handler')
    process.on('SIGTERM', () => {
      say('HANDLER');
      void logger.close().then((result) => {
        say(`RESULT ${JSON.stringify(result)}`);
        process.exit(0);
      });
    });
  const timer = setInterval(() => {
    if (shipper.pendingInMemory + logger.counters.indexed >= count) {
      say(`READY ${JSON.stringify(logger.counters)} ${shipper.pendingInMemory}`);
      clearInterval(timer);
      setInterval(() => {}, 1000); // stay alive until the signal
    }
  }, 50);
}
