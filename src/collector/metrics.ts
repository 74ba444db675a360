/**
 * Prometheus metrics of `mlmon collect` (prom-client, own registry): events received, stored,
 * spooled, dead-lettered and rejected (by reason), and request latency.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LoggerCore } from '../logger/core.js';
import type { MemoryBudget } from './memory.js';
import type { SweepResult } from './pairs.js';

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly received: Counter<'kind'>;
  readonly stored: Counter<'kind'>;
  readonly spooled: Counter<'kind'>;
  readonly deadLettered: Counter<'kind'>;
  readonly rejected: Counter<'reason'>;
  readonly latency: Histogram<'route' | 'status'>;
  /** Halves waiting in the pairs index (all replicas), as the last sweep counted them. */
  readonly waitingHalves: Gauge;

  constructor(core: LoggerCore) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'mlmon_collect_' });
    this.received = new Counter({
      name: 'mlmon_collect_events_received_total',
      help: 'Events received (predictions, outcomes, KServe/Seldon halves), before validation',
      labelNames: ['kind'],
      registers,
    });
    this.stored = new Counter({
      name: 'mlmon_collect_events_stored_total',
      help: 'Events acknowledged as stored in Elasticsearch (or already there)',
      labelNames: ['kind'],
      registers,
    });
    this.spooled = new Counter({
      name: 'mlmon_collect_events_spooled_total',
      help: 'Events acknowledged as fsynced in the disk spool (Elasticsearch unreachable or slow)',
      labelNames: ['kind'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'mlmon_collect_events_dead_lettered_total',
      help: 'Events stored in the dead-letter stream (invalid, or a pair that never completed)',
      labelNames: ['kind'],
      registers,
    });
    this.rejected = new Counter({
      name: 'mlmon_collect_rejected_total',
      help: 'Requests or events refused, by reason (invalid_json, invalid_event, too_large, ...)',
      labelNames: ['reason'],
      registers,
    });
    this.latency = new Histogram({
      name: 'mlmon_collect_request_duration_seconds',
      help: 'Request latency, until the answer (2xx only once the events are durable)',
      labelNames: ['route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.waitingHalves = new Gauge({
      name: 'mlmon_collect_pending_halves',
      help: 'KServe/Seldon halves waiting for their partner in the pairs index (all replicas; counted by the sweep)',
      registers,
    });
    new Gauge({
      name: 'mlmon_collect_buffered_bytes',
      help: "Bytes of documents in the logger's memory buffer",
      registers,
      collect() {
        this.set(core.shipper.bufferedBytes);
      },
    });
    new Gauge({
      name: 'mlmon_collect_spool_bytes',
      help: 'Bytes in the disk spool',
      registers,
      collect() {
        this.set(core.shipper.spoolBytes);
      },
    });
    const counters = core.counters;
    for (const key of Object.keys(counters) as Array<keyof typeof counters>)
      new Gauge({
        name: `mlmon_collect_logger_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
        help: `The logger core's counters.${key}`,
        registers,
        collect() {
          this.set(core.counters[key]);
        },
      });
  }

  /** The memory budget's figures (src/collector/memory.ts), read at each scrape. */
  watchMemory(memory: MemoryBudget): void {
    const registers = [this.registry];
    new Gauge({
      name: 'mlmon_collect_memory_used_bytes',
      help: 'Memory the budget counts as used: resident above the idle process plus reservations, or reservations plus the logger core, whichever is larger',
      registers,
      collect() {
        this.set(memory.used);
      },
    });
    new Gauge({
      name: 'mlmon_collect_memory_budget_bytes',
      help: 'collector.memoryBudget: what requests and the logger core may hold beyond the idle process',
      registers,
      collect() {
        this.set(memory.limit);
      },
    });
    new Gauge({
      name: 'mlmon_collect_memory_forced_collections',
      help: 'Garbage collections forced because resident memory neared the memory budget',
      registers,
      collect() {
        this.set(memory.collections);
      },
    });
  }

  /** What a sweep of unpaired halves stored (predictions, requests alone, dead letters). */
  swept(result: SweepResult): void {
    if (result.waiting !== undefined) this.waitingHalves.set(result.waiting);
    if (result.paired > 0) this.stored.inc({ kind: 'prediction' }, result.paired);
    if (result.requestsAlone > 0) this.stored.inc({ kind: 'request_alone' }, result.requestsAlone);
    if (result.deadLettered > 0) this.deadLettered.inc({ kind: 'unpaired_half' }, result.deadLettered);
  }
}
