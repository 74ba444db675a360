/**
 * `performance.degraded`: is a metric outside the band of expected performance?
 *
 * Bounds are configured per metric (for example accuracy ≥ 0.85, log loss ≤ 0.4, or both sides
 * for a metric that should neither drop nor jump suspiciously, such as the positive rate). Bounds are
 * inclusive: a value equal to a bound is within expectations.
 */

/** Expected range of one metric; either side may be absent. */
export interface PerformanceBounds {
  lower?: number | null;
  upper?: number | null;
}

function checkBounds(bounds: PerformanceBounds): void {
  const { lower, upper } = bounds;
  if (lower != null && Number.isNaN(lower)) throw new RangeError('lower bound is NaN');
  if (upper != null && Number.isNaN(upper)) throw new RangeError('upper bound is NaN');
  if (lower != null && upper != null && lower > upper) {
    throw new RangeError(`lower bound ${lower} exceeds upper bound ${upper}`);
  }
}

/**
 * true when `value` < lower or `value` > upper; false when within the bounds (or none are set);
 * null when the value is null or NaN (the metric is undefined for the window, e.g. precision with
 * nothing predicted positive): "unknown" must not be reported as "healthy", nor raise an alert on
 * an empty window. The caller decides how to store null (DESIGN.md's field is boolean; omit it).
 */
export function isDegraded(value: number | null, bounds: PerformanceBounds): boolean | null {
  checkBounds(bounds);
  if (value === null || Number.isNaN(value)) return null;
  if (bounds.lower != null && value < bounds.lower) return true;
  if (bounds.upper != null && value > bounds.upper) return true;
  return false;
}

/** One metric outside its bounds. */
export interface BoundViolation {
  metric: string;
  value: number;
  lower: number | null;
  upper: number | null;
}

/** Result of {@link evaluateBounds}. */
export interface DegradationResult {
  /** true when at least one bounded metric is outside its bounds */
  degraded: boolean;
  /** the metrics outside their bounds, in the order of `bounds` */
  violations: BoundViolation[];
  /** bounded metrics whose value is missing or null (not evaluated) */
  unknown: string[];
}

/** Applies {@link isDegraded} to every bounded metric of a result (metric name → value). */
export function evaluateBounds(
  metrics: Readonly<Record<string, number | null | undefined>>,
  bounds: Readonly<Record<string, PerformanceBounds>>,
): DegradationResult {
  const violations: BoundViolation[] = [];
  const unknown: string[] = [];
  for (const [metric, b] of Object.entries(bounds)) {
    const value = metrics[metric] ?? null;
    const d = isDegraded(value, b);
    if (d === null) unknown.push(metric);
    else if (d)
      violations.push({ metric, value: value as number, lower: b.lower ?? null, upper: b.upper ?? null });
  }
  return { degraded: violations.length > 0, violations, unknown };
}
