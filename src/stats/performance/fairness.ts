/**
 * Fairness / bias by segment (`labels.*`), from per-segment confusion counts.
 *
 * - Demographic parity difference: max − min over segments of the positive-prediction rate
 *   (tp + fp) / n. 0 means every segment gets positive decisions equally often, whatever the truth.
 * - Equal-opportunity difference: max − min over segments of the recall (true positive rate)
 *   tp / (tp + fn). 0 means actual positives are recognised equally well in every segment.
 *
 * Both are the "largest gap" forms used by common fairness toolkits. Segments where the rate is
 * undefined (no predictions; no actual positives for recall) are left out of that gap and listed in
 * `excluded`, because a segment with no positives has no recall to be unfair about, and counting it
 * as 0 would invent a gap.
 */
import { type BinaryConfusion, type BinaryMetrics, binaryMetrics } from './binary.js';

/** One end of a gap: the value and every segment that attains it (sorted, ties all listed). */
export interface GapEnd {
  value: number;
  segments: string[];
}

/** The largest gap of a per-segment rate. */
export interface Gap {
  /** max − min; 0 with a single segment */
  difference: number;
  /** min / max (the "80 % rule" ratio); null when max is 0 */
  ratio: number | null;
  max: GapEnd;
  min: GapEnd;
  /** segments without a defined rate, left out of the gap */
  excluded: string[];
}

/** Result of {@link fairnessBySegment}. */
export interface FairnessReport {
  /** binary metrics per segment (positiveRate, recall, accuracy, …) */
  segments: Record<string, BinaryMetrics>;
  /** gap in positive-prediction rate; null when fewer than one segment has a defined rate */
  demographicParity: Gap | null;
  /** gap in recall; null when no segment has an actual positive */
  equalOpportunity: Gap | null;
}

function gap(values: ReadonlyArray<readonly [string, number | null]>): Gap | null {
  const defined = values.filter((v): v is readonly [string, number] => v[1] !== null);
  const excluded = values
    .filter((v) => v[1] === null)
    .map((v) => v[0])
    .sort();
  if (defined.length === 0) return null;
  let max = -Infinity;
  let min = Infinity;
  for (const [, v] of defined) {
    if (v > max) max = v;
    if (v < min) min = v;
  }
  const at = (x: number): string[] =>
    defined
      .filter((v) => v[1] === x)
      .map((v) => v[0])
      .sort();
  return {
    difference: max - min,
    ratio: max === 0 ? null : min / max,
    max: { value: max, segments: at(max) },
    min: { value: min, segments: at(min) },
    excluded,
  };
}

/** Per-segment metrics and the demographic-parity and equal-opportunity gaps. */
export function fairnessBySegment(bySegment: Readonly<Record<string, BinaryConfusion>>): FairnessReport {
  const segments: Record<string, BinaryMetrics> = {};
  const entries = Object.entries(bySegment).map(([name, c]) => [name, binaryMetrics(c)] as const);
  for (const [name, m] of entries) segments[name] = m;
  return {
    segments,
    demographicParity: gap(entries.map(([name, m]) => [name, m.positiveRate] as const)),
    equalOpportunity: gap(entries.map(([name, m]) => [name, m.recall] as const)),
  };
}
