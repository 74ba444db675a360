/**
 * Thrown when a drift statistic is asked for something it cannot define (an empty sample, a
 * non-finite value, mismatched bin arrays). Statistics never return NaN silently: a NaN in a
 * result document would break range queries and alert rules downstream, so the caller must decide.
 */
export class DriftInputError extends Error {
  override name = 'DriftInputError';
}
