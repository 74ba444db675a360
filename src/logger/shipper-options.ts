/**
 * The shipper's options, their defaults, and what it reports (counters, the result of close()).
 */
import type { Client } from '@elastic/elasticsearch';
import type { FsyncPolicy, SpoolOptions } from './spool.js';

export interface Counters {
  /** Documents accepted from callers (predictions, outcomes, resource samples). */
  accepted: number;
  /** Documents stored in Elasticsearch (a 409 conflict on create counts: it is already there). */
  indexed: number;
  /** Item retries after 429, 5xx or an unreachable cluster (an item retried twice counts twice). */
  retried: number;
  /** Items written to the disk spool (an item spooled twice counts twice). */
  spooled: number;
  /** Documents stored in the dead-letter stream instead of their own. */
  deadLettered: number;
  /** Documents given up: spool full, spool unusable, torn spool lines, dead letters that failed. */
  dropped: number;
  /** Documents read back from spool files left by an earlier logger (not in `accepted`). */
  recovered: number;
  /**
   * Of `indexed`, how many were already there (by an earlier attempt or run): a 409 on create, or
   * found in an older backing index by the look-up before a re-send.
   */
  conflicts: number;
}

/**
 * What `close()` resolves with: the final counters, and what was not delivered. A superset of
 * {@link Counters}, so code that read the counters from `close()` reads them still.
 */
export interface CloseResult extends Counters {
  /**
   * Documents not in Elasticsearch when close() resolved: left in the spool (the records of this
   * logger's spool files, its own and any adopted from an earlier logger not yet replayed). 0 when
   * everything was delivered. Without a spool, what was left is in `dropped` instead.
   */
  pending: number;
  /** Where those are (undefined without a spool): deliver with `mlmon spool flush --dir <dir>`. */
  spool: { dir: string; files: number; bytes: number } | undefined;
  /**
   * Documents in the same spool directory that are not this logger's: files of another logger that
   * is alive (a replica on the same volume) or gone less than `spool.staleMs` ago (a container
   * restart's predecessor, not yet adopted). A logger on that directory delivers them; `pending`
   * plus `elsewhere` is what the directory holds.
   */
  elsewhere: number;
  /** True when close() stopped waiting at its timeout (with `pending` > 0 or not). */
  timedOut: boolean;
}

export interface ShipperOptions {
  client: Client | undefined;
  /** Memory buffer size, bytes of serialised documents (default 16 MiB). Past it, spill to the spool. */
  bufferMaxBytes: number;
  /** Bulk request size caps (defaults 2 MiB, 10,000 documents). */
  batchMaxBytes: number;
  batchMaxItems: number;
  /** A flush cycle runs at least this often (default 1,000 ms). */
  flushIntervalMs: number;
  /** Bulk requests in flight at once (default 4). */
  concurrency: number;
  requestTimeoutMs: number;
  /** Backoff: first retry after about `retryBaseMs`, doubling, capped at `retryMaxMs`, with jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
  spool: SpoolOptions | false;
  deadLetterIndex: string;
  /** One warning per kind per interval (default 60 s). */
  warnIntervalMs: number;
  warn: (message: string) => void;
  /**
   * Runs once before the first bulk request (the logger makes sure mlmon's index templates exist, so
   * a service that logs before anyone ran `mlmon setup` does not create indices with guessed
   * mappings). A failure is warned about and does not stop delivery.
   */
  prepare?: (client: Client) => Promise<void>;
}

export const SHIPPER_DEFAULTS = {
  bufferMaxBytes: 16 * 1024 * 1024,
  // 4 requests of at most 2 MiB: Elasticsearch's write threads always have the next request
  // waiting while we read an answer and build a body, and what is in flight (8 MiB) stays within half
  // the buffer, so a full pipeline alone never pushes ready documents to the spool. Measured against
  // 2 × 5 MiB in bench/RESULTS.md.
  batchMaxBytes: 2 * 1024 * 1024,
  batchMaxItems: 10_000,
  flushIntervalMs: 1000,
  concurrency: 4,
  requestTimeoutMs: 30_000,
  retryBaseMs: 250,
  retryMaxMs: 10_000,
  warnIntervalMs: 60_000,
  spool: {
    dir: '.mlmon-spool',
    maxBytes: 512 * 1024 * 1024,
    fileMaxBytes: 4 * 1024 * 1024,
    fsync: 'interval' as FsyncPolicy,
    fsyncIntervalMs: 1000,
  },
};
