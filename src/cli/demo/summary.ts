/**
 * What the demo found, for a person: computed from the report's gathered data (the result
 * documents the scheduler wrote, report/gather.ts), so the summary and the HTML report say the same
 * thing. `summarizeDemo` is a pure calculation with a typed result; `renderSummary` turns it into
 * lines.
 *
 * - Drift: per input feature, the windows flagged and the first window of the first run of
 *   {@link SUSTAINED} flagged windows in a row (one odd window is not "drift began"); features whose
 *   runs start in the same window form one onset, and the onsets are listed in time order (on ELEC2
 *   the New South Wales prices and demand move with the season from the first weeks, the Victoria
 *   features once their values start to vary).
 * - Accuracy: realised (from the labels) and estimated (CBPE, from the scores alone) per period
 *   (calendar quarters for windows shorter than a quarter, else each window), the fall from the
 *   first period to the worst, and the mean absolute gap between estimate and realised.
 * - Trust: a window whose estimate the labels contradicted (`performance.estimated.reliable`
 *   false) is counted per period, with the reasons; a period with such windows carries a warning.
 */
import type { ModelPeriodData, PerformancePoint } from '../../report/types.js';
import { ASSUMPTION_WORDS } from '../../report/verdict.js';

/** Flagged windows in a row that count as drift having begun. */
export const SUSTAINED = 3;

export interface FeatureDriftSummary {
  name: string;
  windows: number;
  drifted: number;
  /** first window flagged (start, ISO date) */
  firstFlagged: string | null;
  /** first window of the first run of SUSTAINED flagged windows */
  sustainedFrom: string | null;
}

export interface PeriodAccuracy {
  label: string;
  windows: number;
  realised: number | null;
  estimated: number | null;
  /** mean of the windows' band edges */
  estimatedLower: number | null;
  estimatedUpper: number | null;
  /** windows whose estimate could be judged against labels, and those found unreliable */
  judged: number;
  unreliable: number;
  reasons: string[];
}

export interface DemoSummary {
  windows: number;
  drift: {
    /** when drift began (window start, ISO date) and in which features, oldest first */
    onsets: Array<{ from: string; features: string[] }>;
    byFeature: FeatureDriftSummary[];
  };
  accuracy: {
    first: { label: string; value: number } | null;
    worst: { label: string; value: number } | null;
    last: { label: string; value: number } | null;
  };
  estimate: {
    /** mean |estimated − realised| over windows with both */
    meanAbsoluteGap: number | null;
    /** the same over the windows the labels did not contradict */
    reliableMeanAbsoluteGap: number | null;
    judged: number;
    unreliable: number;
    /**
     * When the labels started contradicting the estimate: the first window of the first run of
     * SUSTAINED contradicted windows (else the first contradicted one); null when never.
     */
    failedFrom: string | null;
    /** contradicted windows from failedFrom on, of those judged from then on */
    failedSince: { unreliable: number; judged: number; estimated: number | null; realised: number | null };
    /** what failed, most frequent first (assumptions, else the statistics that fired) */
    failedBecause: string[];
    /** windows the labels bore out (of all judged), the gap there, and the first and last of them */
    held: {
      windows: number;
      judged: number;
      meanAbsoluteGap: number | null;
      from: string | null;
      to: string | null;
    };
  };
  periods: PeriodAccuracy[];
}

const INPUT_KINDS = new Set(['numeric', 'categorical']);
const QUARTER_MS = 90 * 86_400_000;

const mean = (xs: number[]): number | null =>
  xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;

function periodLabel(windowStart: string, windowMs: number): string {
  if (windowMs >= QUARTER_MS) return windowStart.slice(0, 10);
  return `${windowStart.slice(0, 4)} Q${Math.ceil(Number(windowStart.slice(5, 7)) / 3)}`;
}

function featureDrift(name: string, flags: Array<{ start: string; detected: boolean }>): FeatureDriftSummary {
  let run = 0;
  let sustainedFrom: string | null = null;
  flags.forEach((f, i) => {
    run = f.detected ? run + 1 : 0;
    if (run === SUSTAINED && sustainedFrom === null)
      sustainedFrom = (flags[i - SUSTAINED + 1] as { start: string }).start.slice(0, 10);
  });
  const first = flags.find((f) => f.detected);
  return {
    name,
    windows: flags.length,
    drifted: flags.filter((f) => f.detected).length,
    firstFlagged: first ? first.start.slice(0, 10) : null,
    sustainedFrom,
  };
}

function periodOf(label: string, points: PerformancePoint[]): PeriodAccuracy {
  const values = (pick: (p: PerformancePoint) => number | undefined) =>
    points.map(pick).filter((v): v is number => typeof v === 'number');
  const judged = points.filter((p) => typeof p.estimatedReliable === 'boolean');
  const unreliable = judged.filter((p) => p.estimatedReliable === false);
  return {
    label,
    windows: points.length,
    realised: mean(values((p) => p.realised.accuracy)),
    estimated: mean(values((p) => p.estimated.accuracy)),
    estimatedLower: mean(values((p) => p.estimated.accuracy_lower)),
    estimatedUpper: mean(values((p) => p.estimated.accuracy_upper)),
    judged: judged.length,
    unreliable: unreliable.length,
    // the statistics that fired, then which assumption of the estimate failed
    reasons: [
      ...[...new Set(unreliable.flatMap((p) => p.estimatedUnreliableReasons ?? []))].sort(),
      ...[...new Set(unreliable.flatMap((p) => p.estimatedFailedAssumptions ?? []))].sort(),
    ],
  };
}

/** First window (ISO date) of the first run of SUSTAINED contradicted estimates, else of the first one. */
function estimateFailure(judged: PerformancePoint[]): string | null {
  let run = 0;
  for (let i = 0; i < judged.length; i++) {
    run = judged[i]?.estimatedReliable === false ? run + 1 : 0;
    if (run === SUSTAINED) return (judged[i - SUSTAINED + 1] as PerformancePoint).windowStart.slice(0, 10);
  }
  return judged.find((p) => p.estimatedReliable === false)?.windowStart.slice(0, 10) ?? null;
}

export function summarizeDemo(data: ModelPeriodData, windowMs: number): DemoSummary {
  const byFeature = new Map<string, Array<{ start: string; detected: boolean }>>();
  for (const row of [...data.drift].sort((a, b) => a.windowStart.localeCompare(b.windowStart))) {
    if (!INPUT_KINDS.has(row.kind)) continue;
    const flags = byFeature.get(row.feature) ?? [];
    flags.push({ start: row.windowStart, detected: row.detected });
    byFeature.set(row.feature, flags);
  }
  const features = [...byFeature].map(([name, flags]) => featureDrift(name, flags));
  const onsets = new Map<string, string[]>();
  for (const f of features)
    if (f.sustainedFrom !== null)
      onsets.set(f.sustainedFrom, [...(onsets.get(f.sustainedFrom) ?? []), f.name]);

  const points = [...data.performance].sort((a, b) => a.windowStart.localeCompare(b.windowStart));
  const groups = new Map<string, PerformancePoint[]>();
  for (const p of points) {
    const label = periodLabel(p.windowStart, windowMs);
    groups.set(label, [...(groups.get(label) ?? []), p]);
  }
  const periods = [...groups].map(([label, ps]) => periodOf(label, ps));
  const withRealised = periods.filter((p) => p.realised !== null);
  const at = (p: PeriodAccuracy | undefined) => (p ? { label: p.label, value: p.realised as number } : null);
  const worst = withRealised.reduce<PeriodAccuracy | undefined>(
    (w, p) => (w === undefined || (p.realised as number) < (w.realised as number) ? p : w),
    undefined,
  );
  const gaps = (filter: (p: PerformancePoint) => boolean) =>
    mean(
      points
        .filter(filter)
        .filter((p) => p.realised.accuracy !== undefined && p.estimated.accuracy !== undefined)
        .map((p) => Math.abs((p.estimated.accuracy as number) - (p.realised.accuracy as number))),
    );
  const judged = points.filter((p) => typeof p.estimatedReliable === 'boolean');
  const failedFrom = estimateFailure(judged);
  const since = judged.filter((p) => failedFrom !== null && p.windowStart.slice(0, 10) >= failedFrom);
  const sinceBad = since.filter((p) => p.estimatedReliable === false);
  // where it held: every window the labels bore out, before the failure or between its lapses
  const heldPoints = judged.filter((p) => p.estimatedReliable === true);
  const counts = new Map<string, number>();
  for (const p of sinceBad) {
    const why =
      (p.estimatedFailedAssumptions ?? []).length > 0
        ? (p.estimatedFailedAssumptions ?? [])
        : (p.estimatedUnreliableReasons ?? []);
    for (const w of why) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const values = (ps: PerformancePoint[], pick: (p: PerformancePoint) => number | undefined) =>
    mean(ps.map(pick).filter((v): v is number => typeof v === 'number'));
  return {
    windows: new Set(data.drift.map((r) => r.windowStart)).size,
    drift: {
      onsets: [...onsets]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([from, names]) => ({ from, features: names.sort() })),
      byFeature: features,
    },
    accuracy: { first: at(withRealised[0]), worst: at(worst), last: at(withRealised.at(-1)) },
    estimate: {
      meanAbsoluteGap: gaps(() => true),
      reliableMeanAbsoluteGap: gaps((p) => p.estimatedReliable === true),
      judged: judged.length,
      unreliable: judged.filter((p) => p.estimatedReliable === false).length,
      failedFrom,
      failedSince: {
        unreliable: sinceBad.length,
        judged: since.length,
        estimated: values(since, (p) => p.estimated.accuracy),
        realised: values(since, (p) => p.realised.accuracy),
      },
      failedBecause: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([w]) => w),
      held: {
        windows: heldPoints.length,
        judged: judged.length,
        meanAbsoluteGap: mean(
          heldPoints
            .filter((p) => p.realised.accuracy !== undefined && p.estimated.accuracy !== undefined)
            .map((p) => Math.abs((p.estimated.accuracy as number) - (p.realised.accuracy as number))),
        ),
        from: heldPoints[0]?.windowStart.slice(0, 10) ?? null,
        to: heldPoints.at(-1)?.windowEnd.slice(0, 10) ?? null,
      },
    },
    periods,
  };
}

const REASON_WORDS: Record<string, string> = {
  accuracy_outside_band: 'the labels put realised accuracy outside its band',
  calibration_shift: 'the share of positives moved away from what the scores predict',
  ...ASSUMPTION_WORDS,
};

const f3 = (x: number | null): string => (x === null ? '-' : x.toFixed(3));
const f2 = (x: number | null): string => (x === null ? '-' : x.toFixed(2));

/**
 * The estimate in two sentences, once: where it held (the labels bore it out, and how close it
 * was), and when and why it failed, so a reader trusts the one and not the other.
 */
function estimateLines(s: DemoSummary): string[] {
  const e = s.estimate;
  if (e.judged === 0)
    return [`The label-free estimate was ${f3(e.meanAbsoluteGap)} from realised accuracy on average.`];
  const lines: string[] = [];
  if (e.held.windows > 0)
    lines.push(
      `The label-free estimate (scores alone) held in ${e.held.windows} of ${e.held.judged} windows judged (between ${e.held.from} and ${e.held.to}): ${f3(e.held.meanAbsoluteGap)} from realised accuracy on average there.`,
    );
  if (e.failedFrom !== null) {
    const why = e.failedBecause.map((r) => REASON_WORDS[r] ?? r);
    lines.push(
      `${e.held.windows > 0 ? 'It' : 'The label-free estimate'} failed from the window of ${e.failedFrom} on${why.length > 0 ? `, because ${why[0]}` : ''}: the labels contradicted it in ${e.failedSince.unreliable} of the ${e.failedSince.judged} windows since (estimated ${f2(e.failedSince.estimated)}, realised ${f2(e.failedSince.realised)}); read the realised accuracy there, not the estimate.`,
    );
  } else lines.push(`The labels never contradicted it (${e.judged} windows judged).`);
  return lines;
}

/** The summary in lines a person reads (no trailing newline). */
export function renderSummary(
  s: DemoSummary,
  context: { windowName: string; referenceLabel: string },
): string[] {
  const lines: string[] = [];
  const { drift } = s;
  if (drift.onsets.length === 0) {
    lines.push(
      `Drift: no input feature drifted ${SUSTAINED} ${context.windowName} windows in a row (against ${context.referenceLabel}).`,
    );
  } else {
    lines.push(
      `Drift against ${context.referenceLabel} (${SUSTAINED} ${context.windowName} windows in a row):`,
    );
    for (const onset of drift.onsets)
      lines.push(`  began in the window of ${onset.from} in ${onset.features.join(', ')}`);
  }
  for (const f of [...drift.byFeature].sort(
    (a, b) => b.drifted - a.drifted || a.name.localeCompare(b.name),
  )) {
    lines.push(
      `  ${f.name.padEnd(20)} drifted in ${String(f.drifted).padStart(3)}/${f.windows} windows; ` +
        `first flagged ${f.firstFlagged ?? '-'}; ${SUSTAINED} in a row from ${f.sustainedFrom ?? '-'}`,
    );
  }
  lines.push('');
  const { first, worst, last } = s.accuracy;
  if (first && worst && last) {
    const fell = first.value - worst.value;
    lines.push(
      fell > 0.02
        ? `Accuracy fell from ${f2(first.value)} (${first.label}) to ${f2(worst.value)} (${worst.label}); ${f2(last.value)} in ${last.label}.`
        : `Accuracy held: ${f2(first.value)} (${first.label}), lowest ${f2(worst.value)} (${worst.label}), ${f2(last.value)} in ${last.label}.`,
    );
  }
  lines.push(...estimateLines(s));
  lines.push('');
  lines.push('accuracy per period: realised (from the day-late labels), estimated (scores alone) [band]');
  for (const p of s.periods) {
    lines.push(
      `  ${p.label.padEnd(10)} realised ${f3(p.realised)}  estimated ${f3(p.estimated)} [${f2(p.estimatedLower)}, ${f2(p.estimatedUpper)}]  (${p.windows} window${p.windows === 1 ? '' : 's'})`,
    );
  }
  return lines;
}
