/**
 * A scheduler for tests: the CLI's job registry and a logger that keeps nothing (the tests read the
 * pass summaries and the result documents, not the log lines).
 */
import type { Client } from '@elastic/elasticsearch';
import { defaultJobRegistry } from '../../src/scheduler/index.js';
import { createJsonLogger } from '../../src/scheduler/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { MlmonConfig } from '../../src/schema/config.js';

export function quietScheduler(client: Client, config: MlmonConfig): Scheduler {
  return new Scheduler({
    config,
    client,
    registry: defaultJobRegistry(),
    log: createJsonLogger({ write: () => true } as unknown as NodeJS.WritableStream, { level: 'error' }),
  });
}
