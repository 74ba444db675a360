/**
 * Optional resource sampling: every `intervalMs`, the process's CPU share, memory and event-loop
 * lag (from `perf_hooks.monitorEventLoopDelay`) as one document for `metrics-mlmon.process-{ns}`.
 * Field names follow the `mlmon-process@mappings` component template (`process.*`). The timer is
 * unref()ed (it never keeps the process alive) and a failing sample is skipped, never thrown.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { hostname } from 'node:os';

/**
 * The histogram records the time between its own timer's wake-ups, so an idle loop reads as the
 * resolution itself; lag is what exceeds it.
 */
const RESOLUTION_MS = 10;

export class ResourceSampler {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  private lastCpu = process.cpuUsage();
  private lastTime = process.hrtime.bigint();
  private readonly host = hostname();

  constructor(
    intervalMs: number,
    private readonly emit: (doc: Record<string, unknown>) => void,
  ) {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), Math.max(100, intervalMs));
    this.timer.unref();
  }

  /** Takes one sample now and hands it to `emit`. */
  sample(): void {
    try {
      const now = process.hrtime.bigint();
      const cpu = process.cpuUsage(this.lastCpu);
      const elapsedUs = Number(now - this.lastTime) / 1000;
      this.lastCpu = process.cpuUsage();
      this.lastTime = now;
      const memory = process.memoryUsage();
      const h = this.histogram;
      const ms = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - RESOLUTION_MS) : 0);
      const doc = {
        '@timestamp': new Date().toISOString(),
        event: { kind: 'metric', dataset: 'mlmon.process' },
        metricset: { name: 'process' },
        host: { name: this.host },
        process: {
          pid: process.pid,
          // Share of one CPU core over the interval (1.0 = one core fully busy).
          cpu: { pct: elapsedUs > 0 ? (cpu.user + cpu.system) / elapsedUs : 0 },
          memory: {
            rss: memory.rss,
            heap_used: memory.heapUsed,
            heap_total: memory.heapTotal,
            external: memory.external,
          },
          event_loop: {
            lag_ms: ms(h.mean),
            lag_p50_ms: ms(h.percentile(50)),
            lag_p99_ms: ms(h.percentile(99)),
            lag_max_ms: ms(h.max),
          },
        },
      };
      h.reset();
      this.emit(doc);
    } catch {
      // Sampling is best effort.
    }
  }

  stop(final = false): void {
    clearInterval(this.timer);
    if (final) this.sample();
    this.histogram.disable();
  }
}
