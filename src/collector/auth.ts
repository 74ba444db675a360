/**
 * Bearer-token / API-key check for `mlmon collect`. Tokens are compared as SHA-256 digests with
 * `crypto.timingSafeEqual` (equal lengths whatever the token's length, so neither the length nor a
 * common prefix leaks through timing), and every configured token is compared, match or not.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export class TokenCheck {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /**
   * The token a request presents: `Authorization: Bearer <t>`, `Authorization: ApiKey <t>` or
   * `X-API-Key: <t>`; undefined when none.
   */
  static presented(headers: Record<string, string | string[] | undefined>): string | undefined {
    const authorization = headers.authorization;
    if (typeof authorization === 'string') {
      const match = /^(?:Bearer|ApiKey)\s+(\S+)\s*$/i.exec(authorization);
      if (match) return match[1];
    }
    const apiKey = headers['x-api-key'];
    return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined;
  }

  /** True when authentication is off or the request carries one of the tokens. */
  allows(headers: Record<string, string | string[] | undefined>): boolean {
    if (this.digests.length === 0) return true;
    const given = TokenCheck.presented(headers);
    // Without a token we still hash and compare, so "none" and "wrong" take the same path.
    const candidate = digest(given ?? '');
    let ok = false;
    for (const known of this.digests) ok = timingSafeEqual(candidate, known) || ok;
    return ok && given !== undefined;
  }
}
