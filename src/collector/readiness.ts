/**
 * What `/readyz` says of Elasticsearch: asked of the cluster itself (nodes info of the node
 * answering, no metric: what the shipped logger role grants, `cluster:monitor/nodes/info`; `GET /`
 * needs `monitor`, which the role does not hold, and the integ-test distribution answers it 405),
 * never assumed. "up" only after an answer; a 401 names the
 * credential that was refused; a 403 says the role lacks a privilege. Cached for 2 s, so a probe
 * every second does not become a request every second per replica.
 */
import type { Client } from '@elastic/elasticsearch';

export interface EsState {
  state: 'up' | 'unreachable' | 'credentials_refused' | 'forbidden' | 'no_client';
  reason?: string;
}

const CACHE_MS = 2000;

export class Readiness {
  private last: { at: number; state: EsState } | undefined;
  private asking: Promise<EsState> | undefined;

  constructor(
    private readonly client: Client | undefined,
    /** How the credential is named in a refusal (undefined: none configured). */
    private readonly credential: string | undefined,
  ) {}

  check(now = Date.now()): Promise<EsState> {
    if (this.last && now - this.last.at < CACHE_MS) return Promise.resolve(this.last.state);
    this.asking ??= this.ask().then((state) => {
      this.last = { at: Date.now(), state };
      this.asking = undefined;
      return state;
    });
    return this.asking;
  }

  private async ask(): Promise<EsState> {
    if (!this.client) return { state: 'no_client', reason: 'no Elasticsearch URL is configured (ES_URL)' };
    try {
      await this.client.nodes.info(
        { node_id: '_local', metric: '_none' },
        { requestTimeout: 5000, maxRetries: 0 },
      );
      return { state: 'up' };
    } catch (error) {
      const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
      if (status === 401)
        return {
          state: 'credentials_refused',
          reason: `Elasticsearch refused ${this.credential ?? 'the request without credentials (none configured)'} (401)`,
        };
      if (status === 403)
        return {
          state: 'forbidden',
          reason: `Elasticsearch accepted ${this.credential ?? 'the request'} but its role lacks the cluster privilege "cluster:monitor/nodes/info" (403; security/mlmon-logger.json has it)`,
        };
      return {
        state: 'unreachable',
        reason: `${(error as Error).message}`.replace(/\s+/g, ' ').slice(0, 200),
      };
    }
  }
}
