/** The service dashboard (see panels.ts for the builders; dashboards.ts lists the five). */
import { byHost, byVersion, COMMON_CONTROLS, metric, overTime, type DashboardSpec } from './panels.js';

export const SERVICE_DASHBOARD: DashboardSpec = {
  key: 'service',
  title: 'mlmon · Service health',
  question: 'Is the model service fast, busy, failing or short of CPU and memory?',
  controlDataView: 'service',
  controls: COMMON_CONTROLS,
  panels: [
    overTime(
      'service-latency',
      'Latency percentiles',
      'service',
      [
        metric('max', 'service.latency.p50', 'p50', 'duration-ms'),
        metric('max', 'service.latency.p95', 'p95', 'duration-ms'),
        metric('max', 'service.latency.p99', 'p99', 'duration-ms'),
      ],
      { w: 48 },
    ),
    overTime(
      'service-throughput',
      'Throughput (predictions per minute)',
      'service',
      [metric('average', 'service.throughput', 'Per minute')],
      { by: byVersion },
    ),
    overTime(
      'service-errors',
      'Error rate',
      'service',
      [metric('max', 'service.error_rate', 'Error rate', 'percent')],
      { by: byVersion },
    ),
    // Resource samples of the service processes (the logger's `sampleResources`), one series per host.
    overTime(
      'service-cpu',
      'Process CPU',
      'process',
      [metric('average', 'process.cpu.pct', 'CPU', 'percent')],
      {
        by: byHost,
        w: 16,
      },
    ),
    overTime(
      'service-memory',
      'Process memory (RSS)',
      'process',
      [metric('max', 'process.memory.rss', 'RSS', 'bytes')],
      { by: byHost, w: 16 },
    ),
    overTime(
      'service-event-loop',
      'Event-loop lag',
      'process',
      [metric('max', 'process.event_loop.lag_ms', 'Lag', 'duration-ms')],
      { by: byHost, w: 16 },
    ),
  ],
};
