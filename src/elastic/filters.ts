/**
 * The query filters every job builds its requests from: the time window on `@timestamp` and the
 * model (and version) of prediction and result documents.
 */
import type { estypes } from '@elastic/elasticsearch';
import type { TimeWindow } from '../schema/window.js';

export interface ModelSelector {
  model: string;
  /** One version, or undefined for every version. */
  version?: string;
}

/** `@timestamp` range filter of a window (start inclusive, end exclusive, as windows tile time). */
export function windowFilter(window: TimeWindow): estypes.QueryDslQueryContainer {
  return {
    range: {
      '@timestamp': {
        gte: window.start.toISOString(),
        lt: window.end.toISOString(),
        format: 'strict_date_optional_time',
      },
    },
  };
}

/** Filter for one model (and version) and the half-open time range [from, to). */
export function rangeQuery(selector: ModelSelector, from: Date, to: Date): estypes.QueryDslQueryContainer {
  const filter: estypes.QueryDslQueryContainer[] = [
    { term: { 'model.name': selector.model } },
    windowFilter({ start: from, end: to }),
  ];
  if (selector.version !== undefined) filter.push({ term: { 'model.version': selector.version } });
  return { bool: { filter } };
}
