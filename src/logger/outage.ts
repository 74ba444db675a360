/**
 * Whether the shipper believes Elasticsearch is reachable:
 *
 *   healthy ──(request unanswered, 429/5xx, 401/403 for the whole request)──▶ outage
 *   outage ──(the backoff wait ends, or flush() asks to try now)──▶ recovering
 *   recovering ──(a request or a health probe answers)──▶ healthy
 *   recovering ──(it fails again)──▶ outage (a longer wait)
 *
 * In an outage the shipper keeps nothing in memory that the spool can hold and sends nothing; when
 * recovering it sends one request at a time (a probe), not `concurrency` of them. Pure state with
 * the clock passed in, so the transitions are unit-tested without waiting.
 */

export type OutagePhase = 'healthy' | 'outage' | 'recovering';

/** Equal jitter: half the exponential delay, plus a random share of the other half. */
export function backoff(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return exp / 2 + random() * (exp / 2);
}

export class OutageState {
  /** 0 when healthy; else when the current wait ends (epoch ms). */
  private until = 0;
  private attempts = 0;

  constructor(
    private readonly retryBaseMs: number,
    private readonly retryMaxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  phase(now: number): OutagePhase {
    if (this.until === 0) return 'healthy';
    return now < this.until ? 'outage' : 'recovering';
  }

  /** Not healthy: in an outage or recovering from one. */
  get active(): boolean {
    return this.until > 0;
  }

  /** A request went unanswered: wait before the next one, longer each time in a row. */
  fail(now: number): void {
    this.until = now + backoff(this.attempts++, this.retryBaseMs, this.retryMaxMs, this.random);
  }

  /** Elasticsearch answered. */
  recover(): void {
    this.until = 0;
    this.attempts = 0;
  }

  /** Ends the current wait now (a flush is a reason to try at once); stays unhealthy until an answer. */
  tryNow(): void {
    if (this.until > 0) this.until = 1;
  }

  /** Milliseconds until the current wait ends, or undefined when not waiting. */
  waitLeft(now: number): number | undefined {
    return this.until > now ? this.until - now : undefined;
  }
}
