/**
 * Pairing the request and response events of one inference (KServe, Seldon), in either order.
 *
 * "A 2xx means durable" holds for the first half too: before it is acknowledged, it is appended to
 * a journal in the spool directory (`pairs.journal`, one JSON line per half or completion, each
 * write fdatasync'ed). When its partner arrives, the pair becomes predictions through the logger
 * core and the partner is acknowledged once they are durable; a `done` line then closes the pair.
 * A half whose partner does not come within `timeoutMs` is dead-lettered with the reason. After a
 * restart the journal is read back: open halves wait out the rest of their time, closed pairs are
 * remembered (the last 100,000), so a duplicate of a stored pair is recognised and stored once.
 */
import {
  closeSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Durability, LoggerCore } from '../logger/core.js';
import type { CollectorMapping } from '../schema/config.js';
import type { ModelRef, PredictionEvent } from '../schema/prediction.js';
import { mappingFor, type Half } from './cloudevents.js';
import { PayloadError, requestRows, responseOutputs, rowPrediction } from './tensors.js';

export interface PairStoreOptions {
  /** Spool directory (the journal lives there); undefined: halves are kept in memory only. */
  dir: string | undefined;
  timeoutMs: number;
  maxPending: number;
  core: LoggerCore;
  mappings: readonly CollectorMapping[];
  defaultModel?: ModelRef;
  onWarning: (message: string) => void;
}

export interface PairOutcome {
  status: 'pending' | 'paired' | 'duplicate' | 'dead-lettered' | 'invalid';
  ids?: string[];
  durable?: Durability;
  reason?: string;
}

export interface PairSummary {
  pending: number;
  journal: string | undefined;
}

const REMEMBERED = 100_000;
const COMPACT_BYTES = 64 * 1024 * 1024;

type Line = { op: 'half'; half: Half } | { op: 'done'; key: string; how: 'stored' | 'expired' };

/** The prediction events of a complete pair (throws PayloadError when the halves disagree). */
export function pairEvents(
  request: Half,
  response: Half,
  mapping: CollectorMapping | undefined,
  defaultModel: ModelRef | undefined,
): PredictionEvent[] {
  const rows = requestRows(request.body, mapping);
  const { outputs, model, version } = responseOutputs(response.body);
  for (const output of outputs)
    if (output.rows.length !== rows.length)
      throw new PayloadError(
        `the request has ${rows.length} rows, output "${output.name}" of the response ${output.rows.length}`,
      );
  const modelRef: ModelRef | undefined = mapping?.model
    ? { ...mapping.model }
    : model
      ? { name: model, ...(version ? { version } : {}) }
      : request.service
        ? { name: request.service }
        : defaultModel;
  const start = request.time ? Date.parse(request.time) : Number.NaN;
  const end = response.time ? Date.parse(response.time) : Number.NaN;
  const latencyMs = end - start >= 0 ? end - start : undefined;
  const timestamp = Number.isFinite(start) ? request.time : new Date(request.receivedAt).toISOString();
  return rows.map((features, i) => {
    const event: PredictionEvent = {
      id: rows.length === 1 ? request.key : `${request.key}-${i}`,
      timestamp,
      features,
      prediction: rowPrediction(outputs, i, mapping),
    };
    if (modelRef) event.model = modelRef;
    if (latencyMs !== undefined) event.latencyMs = latencyMs;
    if (request.endpoint) event.labels = { endpoint: request.endpoint };
    return event;
  });
}

export class PairStore {
  private readonly pending = new Map<string, Half>();
  /** Keys of closed pairs, oldest first (a Map keeps insertion order). */
  private readonly closed = new Map<string, 'stored' | 'expired'>();
  private readonly journalPath: string | undefined;
  private fd: number | undefined;
  private journalBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(private readonly options: PairStoreOptions) {
    this.journalPath = options.dir ? join(options.dir, 'pairs.journal') : undefined;
  }

  get full(): boolean {
    return this.pending.size >= this.options.maxPending;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Reads the journal back (after a restart), compacts it, and starts the expiry sweep. */
  open(): void {
    if (this.journalPath && this.options.dir) {
      mkdirSync(this.options.dir, { recursive: true });
      let text = '';
      try {
        text = readFileSync(this.journalPath, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      for (const raw of text.split('\n')) {
        if (raw === '') continue;
        let line: Line;
        try {
          line = JSON.parse(raw) as Line;
        } catch {
          continue; // a torn last line: its half was never acknowledged
        }
        if (line.op === 'half') this.pending.set(line.half.key, line.half);
        else {
          this.pending.delete(line.key);
          this.remember(line.key, line.how);
        }
      }
      this.compact();
    }
    const every = Math.max(50, Math.min(1000, this.options.timeoutMs / 4));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  private remember(key: string, how: 'stored' | 'expired'): void {
    this.closed.delete(key);
    this.closed.set(key, how);
    if (this.closed.size > REMEMBERED) this.closed.delete(this.closed.keys().next().value as string);
  }

  /** Rewrites the journal with only what is still needed (open halves, remembered keys). */
  private compact(): void {
    if (!this.journalPath) return;
    if (this.fd !== undefined) closeSync(this.fd);
    const tmp = `${this.journalPath}.tmp`;
    let text = '';
    for (const [key, how] of this.closed) text += `${JSON.stringify({ op: 'done', key, how })}\n`;
    for (const half of this.pending.values()) text += `${JSON.stringify({ op: 'half', half })}\n`;
    const fd = openSync(tmp, 'w');
    writeSync(fd, text);
    fdatasyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.journalPath);
    this.fd = openSync(this.journalPath, 'a');
    this.journalBytes = statSync(this.journalPath).size;
  }

  private append(line: Line): void {
    if (this.fd === undefined) return;
    const text = `${JSON.stringify(line)}\n`;
    writeSync(this.fd, text);
    fdatasyncSync(this.fd);
    this.journalBytes += text.length;
    if (this.journalBytes > COMPACT_BYTES) this.compact();
  }

  /** Takes one half: stores it until its partner comes, or completes the pair. */
  async offer(half: Half): Promise<PairOutcome> {
    const seen = this.closed.get(half.key);
    if (seen === 'stored') return { status: 'duplicate' };
    if (seen === 'expired')
      return this.deadLetter(
        half,
        `${half.source} ${half.role} event ${half.eventId} arrived after its partner had waited ${this.options.timeoutMs / 1000} s and was dead-lettered`,
        'late',
      );
    const other = this.pending.get(half.key);
    if (!other) {
      this.append({ op: 'half', half });
      this.pending.set(half.key, half);
      return { status: 'pending' };
    }
    if (other.role === half.role) return { status: 'duplicate' };
    // Complete: take the pair out now, so that a duplicate arriving meanwhile is recognised.
    this.pending.delete(half.key);
    this.remember(half.key, 'stored');
    const request = half.role === 'request' ? half : other;
    const response = half.role === 'request' ? other : half;
    const mapping = mappingFor(this.options.mappings, request);
    let events: PredictionEvent[] | undefined;
    let reason: string | undefined;
    try {
      events = pairEvents(request, response, mapping, this.options.defaultModel);
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      reason = `request and response of ${request.source} inference ${request.key} do not fit: ${error.message}`;
    }
    const { ids, durable } = this.options.core.logDurably(
      events
        ? events.map((event) => ({ kind: 'prediction' as const, event }))
        : [
            {
              kind: 'deadletter' as const,
              id: `${request.key}/pair`,
              original: JSON.stringify({ request, response }),
              reason: { type: 'mlmon_invalid_pair', message: reason ?? '', stage: 'normalize' as const },
            },
          ],
    );
    const result = await durable;
    if (result.dropped > 0) {
      // Not durable: forget the completion, keep the first half, let the sender retry.
      this.closed.delete(half.key);
      this.pending.set(other.key, other);
      return { status: 'paired', ids, durable: result };
    }
    this.append({ op: 'done', key: half.key, how: 'stored' });
    return { status: events ? 'paired' : 'dead-lettered', ids, durable: result, reason };
  }

  private async deadLetter(half: Half, message: string, tag: string): Promise<PairOutcome> {
    const { ids, durable } = this.options.core.logDurably([
      {
        kind: 'deadletter',
        id: `${half.key}/${half.role}-${tag}`,
        original: JSON.stringify(half),
        reason: { type: 'mlmon_unpaired_event', message, stage: 'normalize' },
      },
    ]);
    const result = await durable;
    return { status: 'dead-lettered', ids, durable: result, reason: message };
  }

  /** Dead-letters the halves that waited longer than `timeoutMs`. */
  async sweep(now = Date.now()): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const due = [...this.pending.values()].filter((h) => now - h.receivedAt >= this.options.timeoutMs);
      await Promise.all(
        due.map(async (half) => {
          this.pending.delete(half.key);
          this.remember(half.key, 'expired');
          const missing = half.role === 'request' ? 'response' : 'request';
          const outcome = await this.deadLetter(
            half,
            `${half.source} ${half.role} event ${half.eventId} got no ${missing} within ${this.options.timeoutMs / 1000} s`,
            'unpaired',
          );
          if (outcome.durable && outcome.durable.dropped > 0) {
            this.closed.delete(half.key);
            this.pending.set(half.key, half); // try again on the next sweep
          } else this.append({ op: 'done', key: half.key, how: 'expired' });
        }),
      );
    } catch (error) {
      this.options.onWarning(`mlmon collect: expiring unpaired events failed: ${(error as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  /** Stops the sweep; open halves stay in the journal for the next start. */
  close(): PairSummary {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return { pending: this.pending.size, journal: this.journalPath };
  }
}
