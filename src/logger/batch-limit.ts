/**
 * How large the next bulk request may be, after Elasticsearch or a proxy in front of it refused a
 * whole request with 413 (an nginx ingress's `client_max_body_size`, Elastic Cloud's proxy or
 * `http.max_content_length`; other 4xx are held as outages, see classifyRequestFailure): the
 * shipper bisects.
 *
 * - Refused, n > 1 documents of b bytes: the next requests carry at most n / 2 documents and
 *   b / 2 bytes (never fewer than 1). The refused documents are at the front of the queue, so the
 *   next request is their first half: a size limit is found, or a single document the request is
 *   refused for is isolated, in log2(n) refused requests; alone and still refused, it is
 *   dead-lettered (the shipper does that).
 * - Passed: once the refused request's documents have gone through at the smaller size, the bound
 *   doubles per passed request, back to the configured `batchMaxItems` / `batchMaxBytes`. Growing
 *   sooner would put the half not yet tried together with new documents and refuse it again.
 * - A bound not yet seen to pass (after a refusal, after growing) is tried with one request at a
 *   time, as an outage is probed with one: not `concurrency` requests refused at once.
 *
 * Why bisection and not a fixed split (say, 100 documents or 1 MiB, or one document at a time):
 * we do not know the limit (a proxy's setting we cannot read) nor what in a request is refused, and
 * a fixed size is either still too large for some proxy (the hot loop again) or far too small for
 * the cluster (a request per document is ~100x the cost). Halving finds any limit, or one bad
 * document among n, in log2(n) requests, and growing back by doubling returns to full-size requests
 * as fast once the cause is gone (a proxy's limit raised, the bad document dead-lettered). Beats
 * (elastic/beats#34911) and Graylog split a batch refused with 413 in half the same way.
 *
 * With a limit that stays below `batchMaxBytes`, the bound keeps growing past it and is refused
 * again: up to one request in three is refused, and the warning repeats (once per
 * `warnIntervalMs`) telling the operator to lower `batchMaxBytes` or raise the limit.
 */
export class BatchLimit {
  /** Documents per request, now. */
  items: number;
  /** Bytes per request, now (the queue's estimate of a document's size, see ledger.ts). */
  bytes: number;
  /** A bound not yet seen to pass: the shipper sends one request at a time. */
  trial = false;
  /** Documents of the last refused request not yet through at the smaller size. */
  private owed = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {
    this.items = maxItems;
    this.bytes = maxBytes;
  }

  /** Whether requests are smaller than configured (a refusal's bound, not yet grown back). */
  get narrowed(): boolean {
    return this.items < this.maxItems || this.bytes < this.maxBytes;
  }

  /** A request of `count` documents (> 1) and `bytes` bytes was refused as a whole. */
  refused(count: number, bytes: number): void {
    this.items = Math.min(this.items, Math.max(1, Math.floor(count / 2)));
    this.bytes = Math.min(this.bytes, Math.max(1, Math.floor(bytes / 2)));
    this.owed = count;
    this.trial = true;
  }

  /** A request of `count` documents was answered (whatever its documents' verdicts). */
  passed(count: number): void {
    this.trial = false;
    if (!this.narrowed) return;
    this.owed -= count;
    if (this.owed > 0) return;
    this.items = Math.min(this.maxItems, this.items * 2);
    this.bytes = Math.min(this.maxBytes, this.bytes * 2);
    // The grown bound (full size included: it was refused before) goes alone first.
    this.trial = true;
  }
}
