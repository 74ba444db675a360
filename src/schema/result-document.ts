/**
 * What every result document shares: a deterministic `_id`, so that re-running a window or a second
 * analyzer replica overwrites instead of adding, and no stored nulls.
 */
import { createHash } from 'node:crypto';

/**
 * Document id of a result: the first 40 hex digits of SHA-256 over the JSON array
 * `[kind, ...parts]`, where `kind` names what the document holds (`drift`, `quality`,
 * `performance`, `fairness`, `service`, `feature-mean`) and `parts` identify it within that kind
 * (model, version, field or segment, window start and end as ISO strings). Hashed so that any model
 * or segment name (slashes, spaces, 600 characters) yields a valid `_id` of fixed length; the
 * parts themselves are in the document for humans.
 *
 * Drift and quality ids have always been built this way. Before 0.2 the performance, service and
 * feature-mean documents had ids of another scheme (`{kind}-` and a hash of the parts alone):
 * re-running a window analyzed before the upgrade adds a document next to the old one instead of
 * replacing it.
 */
export function resultId(kind: string, parts: ReadonlyArray<string | null | undefined>): string {
  return createHash('sha256')
    .update(JSON.stringify([kind, ...parts.map((p) => p ?? null)]))
    .digest('hex')
    .slice(0, 40);
}

/**
 * A copy without null or undefined values (recursively in plain objects): an undefined metric is
 * simply absent from the stored document, which Kibana and alert rules handle, whereas a stored
 * null and a missing field would compare as different documents on re-runs.
 */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withoutNulls(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      out[k] = withoutNulls(v);
    }
    return out as T;
  }
  return value;
}
