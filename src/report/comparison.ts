/**
 * A/B comparisons in reports and in the terminal: the rows read from the performance stream's
 * `performance.scope: comparison` documents (analyzer/version-comparison.ts writes them) and the
 * one sentence that says each, shared by the report (text and HTML), `mlmon analyze` and
 * `mlmon status`.
 */
import {
  MIN_LABELLED_PER_VERSION,
  type ComparisonOutcome,
  type ComparisonVerdict,
} from '../analyzer/version-comparison.js';

/** One comparison: B (challenger) against A (champion) over one window. */
export interface ComparisonRow extends ComparisonOutcome {
  versionA: string;
  versionB: string;
  countA: number;
  countB: number;
  windowStart?: string;
  windowEnd?: string;
}

const VERDICT_WORDS: Record<ComparisonVerdict, string> = {
  b_better: 'B is better',
  b_worse: 'B is WORSE',
  no_difference: 'no significant difference',
  insufficient_data: 'not enough labels for a verdict',
};

/** A `comparison.*` document as a row; null when it is not one. */
export function comparisonRow(doc: Record<string, unknown>): ComparisonRow | null {
  const c = doc.comparison as Record<string, unknown> | undefined;
  const w = doc.window as Record<string, unknown> | undefined;
  if (!c || typeof c.version_a !== 'string' || typeof c.version_b !== 'string') return null;
  const n = (k: string): number | null => (typeof c[k] === 'number' ? c[k] : null);
  return {
    versionA: c.version_a,
    versionB: c.version_b,
    countA: n('count_a') ?? 0,
    countB: n('count_b') ?? 0,
    windowStart: typeof w?.start === 'string' ? w.start : undefined,
    windowEnd: typeof w?.end === 'string' ? w.end : undefined,
    metric: c.metric === 'mae' ? 'mae' : 'accuracy',
    a: n('a'),
    b: n('b'),
    difference: n('difference'),
    lower: n('lower'),
    upper: n('upper'),
    level: n('level') ?? 0.95,
    pValue: n('p_value'),
    verdict: (c.verdict as ComparisonVerdict | undefined) ?? 'insufficient_data',
    sampleNeeded: n('sample_needed'),
  };
}

/** A/B in one line: B − A with its interval and p-value, the verdict and the sample it needs. */
export function comparisonSentence(o: ComparisonRow): string {
  const value =
    o.metric === 'accuracy'
      ? (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)} %`)
      : (x: number | null) => (x === null ? '-' : x.toFixed(3));
  const wait =
    o.verdict === 'no_difference' && o.sampleNeeded !== null
      ? `; about ${o.sampleNeeded} labelled predictions per version would show a difference this size`
      : o.verdict === 'insufficient_data'
        ? `; needs ${MIN_LABELLED_PER_VERSION} labelled predictions per version`
        : '';
  return `A/B: version ${o.versionB} (B) against ${o.versionA} (A), ${o.countB} and ${o.countA} labelled: ${o.metric} ${value(o.b)} vs ${value(o.a)}, B − A ${value(o.difference)} [${value(o.lower)}, ${value(o.upper)}] at ${Math.round(o.level * 100)} %, p ${o.pValue === null ? '-' : o.pValue.toPrecision(2)}: ${VERDICT_WORDS[o.verdict]}${wait}`;
}
