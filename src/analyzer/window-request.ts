/**
 * The window request: which aggregations one window's analysis sends, and how each one's answer is
 * read back. Every aggregation is declared once in {@link windowAggregation} with its name, its
 * request body and a typed reader of its answer; the plan keeps the declared aggregations, so the
 * code that reads the answer (evaluate.ts) asks the plan's own reader and never spells a name: a
 * name cannot be sent under one spelling and read under another.
 */
import {
  type AggRequest,
  type Bucket,
  type ExtendedStats,
  bucketKey,
  rangeCounts,
  rangeOverEdges,
  sub,
} from '../elastic/aggs.js';
import type { MatrixStatsAnswer } from '../elastic/correlation.js';
import type { MonitoredField } from '../elastic/source.js';
import {
  edgesContain,
  fieldOf,
  nextUp,
  type MonitoredFeatureProfile,
  type MonitoredNumericProfile,
} from '../profiles/profile.js';
import type { DatasetProfile } from '../profiles/types.js';
import type { FieldRole } from '../schema/fields.js';

/** New categories listed one by one in a window; beyond this they are lumped together. */
export const NEW_CATEGORIES_LISTED = 1000;

/**
 * The value a numeric `range` gives documents without the field (its `missing` option), in a bin
 * of its own [MISSING_SENTINEL, nextUp(MISSING_SENTINEL)). Why: a separate `missing` aggregation
 * reads the field's doc values once more per document (about an eighth of the request's cost at 1M
 * documents, see bench/RESULTS.md), and `random_sampler` refuses `missing` altogether. A genuine
 * value of −Number.MAX_VALUE also lands in that bin, but the bin's `extended_stats` counts it (a
 * missing value has no value to count), so the two stay apart.
 */
export const MISSING_SENTINEL = -Number.MAX_VALUE;
const SENTINEL_END = nextUp(MISSING_SENTINEL);
/** Key that documents without a categorical field take in the `terms` over the reference categories. */
export const MISSING_CATEGORY = '\u0000missing';

/** One aggregation of a request: its name, its body, and the reader of its answer. */
export interface Declared<T> {
  readonly name: string;
  readonly body: AggRequest;
  /** This aggregation's answer, read out of the whole answer; throws when the answer lacks it. */
  read(answer: unknown): T;
}

function declare<T>(name: string, body: AggRequest, read: (own: unknown) => T): Declared<T> {
  return { name, body, read: (answer) => read(sub(answer, name)) };
}

/** A `terms` answer: its buckets and the documents beyond them. */
export interface TermsAnswer {
  buckets: Bucket[];
  other: number;
}

function termsAnswer(own: unknown): TermsAnswer {
  const t = own as { buckets: Bucket[]; sum_other_doc_count?: number };
  return { buckets: t.buckets, other: t.sum_other_doc_count ?? 0 };
}

const docCountOf = (own: unknown): number => (own as { doc_count: number }).doc_count;

/**
 * Every aggregation the window and concept requests send, once each. The names are short (a
 * request of a wide model carries hundreds) and kept as they were (bench/analyzer-parts.bench.ts
 * selects the `r*` ranges by name); the per-field ones carry the field's position in
 * {@link profileEntries}, the per-unexpected-field ones the position in the plan's `unexpected`.
 */
const windowAggregation = {
  /** Numeric field: `range` over the fine edges (sentinel bins first when `sentinel`), `extended_stats` per bin. */
  fineBins: (i: number, field: string, edges: readonly number[], sentinel: boolean) => {
    const body = rangeOverEdges(field, edges);
    if (sentinel) (body.range as Record<string, unknown>).missing = MISSING_SENTINEL;
    body.aggs = { x: { extended_stats: { field } } };
    return declare(`r${i}`, body, (own) => rangeCounts(own, edges.length + 1));
  },
  /** Numeric field whose fine edges leave no room for the sentinel bins: documents without it. */
  missing: (i: number, field: string) =>
    declare(`m${i}`, { filter: { bool: { must_not: { exists: { field } } } } }, docCountOf),
  /** Numeric field: counts below the reference minimum, inside, from the next double above its maximum. */
  outOfRange: (i: number, field: string, min: number, max: number) =>
    declare(`o${i}`, rangeOverEdges(field, [min, nextUp(max)]), (own) =>
      rangeCounts(own, 3).map((b) => b.doc_count),
    ),
  /** Numeric field whose PSI bins are not among its fine bins: counts per PSI bin. */
  psiBins: (i: number, field: string, psiEdges: readonly number[]) =>
    declare(`q${i}`, rangeOverEdges(field, psiEdges), (own) =>
      rangeCounts(own, psiEdges.length + 1).map((b) => b.doc_count),
    ),
  /** Categorical field: exact counts of the reference categories, documents without it under MISSING_CATEGORY. */
  knownCategories: (i: number, field: string, categories: readonly string[]) =>
    declare(
      `k${i}`,
      {
        terms: {
          field,
          include: [...categories, MISSING_CATEGORY],
          size: categories.length + 1,
          missing: MISSING_CATEGORY,
        },
      },
      termsAnswer,
    ),
  /** Categorical field: the categories the reference never had. */
  newCategories: (i: number, field: string, categories: readonly string[]) =>
    declare(
      `u${i}`,
      { terms: { field, size: NEW_CATEGORIES_LISTED, exclude: [...categories, MISSING_CATEGORY] } },
      termsAnswer,
    ),
  /** Documents whose logger counted a type mismatch, per field name (`mlmon.quality.type_mismatch`). */
  typeMismatch: (names: readonly string[]) =>
    declare(
      'tm',
      { terms: { field: 'mlmon.quality.type_mismatch', include: [...names], size: names.length } },
      (own) => new Map(termsAnswer(own).buckets.map((b) => [bucketKey(b), b.doc_count])),
    ),
  /** A field the reference does not have: documents carrying it. */
  present: (j: number, field: string) => declare(`e${j}`, { filter: { exists: { field } } }, docCountOf),
  /** Feature–output correlations when the cluster has `matrix_stats`. */
  correlation: (fields: readonly string[]) =>
    declare('corr', { matrix_stats: { fields: [...fields] } }, (own) => own as MatrixStatsAnswer),
  /** Concept request, per correlated numeric feature: fine bins with its `extended_stats` and the output's `stats`. */
  conceptBins: (i: number, field: string, edges: readonly number[], output: string) => {
    const body = rangeOverEdges(field, edges);
    body.aggs = { x: { extended_stats: { field } }, y: { stats: { field: output } } };
    return declare(`c${i}`, body, (own) => rangeCounts(own, edges.length + 1));
  },
  /** Concept request: the output's spread over the window. */
  outputSpread: (output: string) =>
    declare('ys', { extended_stats: { field: output } }, (own) => own as ExtendedStats),
};

/** A numeric field's aggregations in the window request. */
export interface NumericRequest {
  kind: 'numeric';
  /** The `range` edges sent: the sentinel bins first when `sentinel` (see MISSING_SENTINEL). */
  edges: number[];
  sentinel: boolean;
  bins: Declared<Bucket[]>;
  /** Only without the sentinel bins. */
  missing?: Declared<number>;
  /** Only when the outer fine bins are not the out-of-range bins ({@link rangeIsOuterBins}). */
  outOfRange?: Declared<number[]>;
  /** Only when the PSI edges are not among the fine edges. */
  psiBins?: Declared<number[]>;
  /** Concept request (binned correlation) only. */
  conceptBins?: Declared<Bucket[]>;
}

/** A categorical field's aggregations in the window request. */
export interface CategoricalRequest {
  kind: 'categorical';
  known: Declared<TermsAnswer>;
  fresh: Declared<TermsAnswer>;
}

export interface WindowRequestPlan {
  aggs: AggRequest;
  /** Per profile entry, in {@link profileEntries} order: its aggregations. */
  fields: Array<NumericRequest | CategoricalRequest>;
  typeMismatch: Declared<Map<string, number>>;
  /** Fields in the window's mapping that the reference does not have. */
  unexpected: MonitoredField[];
  /** Per unexpected field, same order: documents carrying it. */
  present: Array<Declared<number>>;
  output?: string;
  correlation: 'matrix_stats' | 'binned' | 'none';
  matrix?: Declared<MatrixStatsAnswer>;
  /** The concept-drift request (binned correlation only); empty otherwise. */
  concept: { aggs: AggRequest; outputSpread?: Declared<ExtendedStats> };
}

/** The request body of declared aggregations; a name declared twice is a bug, refused here. */
function requestOf(
  declared: ReadonlyArray<Pick<Declared<unknown>, 'name' | 'body'> | undefined>,
): AggRequest {
  const aggs: AggRequest = {};
  for (const d of declared) {
    if (!d) continue;
    if (d.name in aggs) throw new Error(`aggregation ${d.name} declared twice`);
    aggs[d.name] = d.body;
  }
  return aggs;
}

/**
 * All fields of a window in one size-0 request, built so that each field's values are read as few
 * times as possible (each aggregation reads doc values on its own; that is what the request costs):
 * - numeric field: one `range` over the profile's fine edges, with `missing` mapped into a
 *   sentinel bin, and one `extended_stats` sub-aggregation per bin. Bin counts give PSI and KS, bin
 *   means the Wasserstein distance, the bins together the field's count, mean, standard deviation,
 *   min and max, the first and last bins (below the reference minimum, from the next double above
 *   its maximum) the out-of-range rate. Two reads of the field per document.
 * - categorical field: `terms` restricted to the reference categories (exact counts, missing
 *   documents under MISSING_CATEGORY) and `terms` excluding them (new categories).
 * - `terms` on `mlmon.quality.type_mismatch`; `filter` exists on each unexpected field.
 * The concept-drift correlation needs the output per bin of every numeric feature, as many reads
 * again: it has a request of its own (`plan.concept`), sampled on large windows.
 * No `missing` aggregation anywhere, so the whole request can sit under a `random_sampler`.
 */
export function windowAggregations(
  profile: DatasetProfile,
  windowFields: readonly MonitoredField[],
  options: { matrixStats: boolean },
): WindowRequestPlan {
  const entries = profileEntries(profile);
  const known = new Set(entries.map((e) => e.field));
  const correlated = entries.filter(
    (e) => e.profile.kind === 'numeric' && e.profile.outputCorrelation !== undefined,
  );
  const output = correlated[0]?.profile.outputCorrelation?.field;
  const correlation = output === undefined ? 'none' : options.matrixStats ? 'matrix_stats' : 'binned';
  const fields = entries.map(({ field, profile: f }, i): NumericRequest | CategoricalRequest => {
    if (f.kind !== 'numeric') {
      const cats = Object.keys(f.categories);
      return {
        kind: 'categorical',
        known: windowAggregation.knownCategories(i, field, cats),
        fresh: windowAggregation.newCategories(i, field, cats),
      };
    }
    const sentinel = f.edges.length === 0 || (f.edges[0] as number) > SENTINEL_END;
    const edges = sentinel ? [MISSING_SENTINEL, SENTINEL_END, ...f.edges] : [...f.edges];
    const request: NumericRequest = {
      kind: 'numeric',
      edges,
      sentinel,
      bins: windowAggregation.fineBins(i, field, edges, sentinel),
    };
    if (!sentinel) request.missing = windowAggregation.missing(i, field);
    if (f.count > 0 && f.min !== null && f.max !== null) {
      // Out of the reference range: below its minimum, or at or above the next double after its
      // maximum; free when both are fine edges (profiles built by this version), else a range of its own.
      if (!rangeIsOuterBins(f)) request.outOfRange = windowAggregation.outOfRange(i, field, f.min, f.max);
      // PSI bins nest in the fine bins when the deciles are among the fine edges (always for
      // profiles built here or from files); otherwise they need their own range.
      if (!edgesContain(f.edges, f.psiEdges))
        request.psiBins = windowAggregation.psiBins(i, field, f.psiEdges);
    }
    if (correlation === 'binned' && output && f.outputCorrelation && f.count > 0) {
      request.conceptBins = windowAggregation.conceptBins(i, field, f.edges, output);
    }
    return request;
  });
  const names = [...new Set(entries.flatMap((e) => [e.name, e.field]))];
  const typeMismatch = windowAggregation.typeMismatch(names);
  const unexpected = windowFields.filter((f) => !known.has(f.field));
  const present = unexpected.map((f, j) => windowAggregation.present(j, f.field));
  const matrix =
    correlation === 'matrix_stats' && output
      ? windowAggregation.correlation([...correlated.map((e) => e.field), output])
      : undefined;
  const aggs = requestOf([
    ...fields.flatMap((r): Array<Pick<Declared<unknown>, 'name' | 'body'> | undefined> =>
      r.kind === 'numeric' ? [r.missing, r.bins, r.outOfRange, r.psiBins] : [r.known, r.fresh],
    ),
    typeMismatch,
    ...present,
    matrix,
  ]);
  const conceptBins = fields.map((r) => (r.kind === 'numeric' ? r.conceptBins : undefined));
  const outputSpread =
    output && conceptBins.some((c) => c !== undefined) ? windowAggregation.outputSpread(output) : undefined;
  const concept = {
    aggs: requestOf([...conceptBins, outputSpread]),
    ...(outputSpread ? { outputSpread } : {}),
  };
  return {
    aggs,
    fields,
    typeMismatch,
    unexpected,
    present,
    output,
    correlation,
    concept,
    ...(matrix ? { matrix } : {}),
  };
}

/** True when the first fine edge is the reference minimum and the last the next double above its maximum: then the outer bins hold exactly the out-of-range values. */
export function rangeIsOuterBins(f: MonitoredNumericProfile): boolean {
  return (
    f.min !== null && f.max !== null && f.edges[0] === f.min && f.edges[f.edges.length - 1] === nextUp(f.max)
  );
}

/**
 * The concept-drift request: per numeric feature with a reference correlation, a `range` over its
 * fine edges with the feature's `extended_stats` and the output's `stats` per bin, and the output's
 * `extended_stats` (see `binnedCorrelation`). Empty when the cluster has `matrix_stats` (then the
 * correlation is in the window request) or nothing is correlated.
 */
export function conceptAggregations(plan: WindowRequestPlan): AggRequest {
  return plan.concept.aggs;
}

export interface ProfileEntry {
  name: string;
  field: string;
  role: FieldRole;
  profile: MonitoredFeatureProfile;
}

/** The profile's entries in a fixed order (the request's per-field aggregations carry their positions). */
export function profileEntries(profile: DatasetProfile): ProfileEntry[] {
  return Object.entries(profile.features).map(([name, p]) => ({ name, ...fieldOf(name, p), profile: p }));
}

/** Moments of the values in one bin, from its `extended_stats` (scaled back when sampled). */
export interface BinMoments {
  count: number;
  sum: number;
  sumOfSquares: number;
  min: number | null;
  max: number | null;
}

interface ExtendedStatsAnswer extends ExtendedStats {
  sum_of_squares?: number | null;
}

export function momentsOf(b: Bucket): BinMoments {
  const x = b.x as ExtendedStatsAnswer | undefined;
  return {
    count: x?.count ?? 0,
    sum: x?.sum ?? 0,
    sumOfSquares: x?.sum_of_squares ?? 0,
    min: x?.min ?? null,
    max: x?.max ?? null,
  };
}

export function mergeMoments(a: BinMoments, b: BinMoments): BinMoments {
  const pick = (x: number | null, y: number | null, f: (p: number, q: number) => number): number | null =>
    x === null ? y : y === null ? x : f(x, y);
  return {
    count: a.count + b.count,
    sum: a.sum + b.sum,
    sumOfSquares: a.sumOfSquares + b.sumOfSquares,
    min: pick(a.min, b.min, Math.min),
    max: pick(a.max, b.max, Math.max),
  };
}

/**
 * A numeric field's fine bins from the window answer: document count and value moments per fine
 * bin (sentinel bins folded back in), and the documents without the field.
 */
export function numericBins(
  answer: unknown,
  request: NumericRequest,
): { docs: number[]; moments: BinMoments[]; missing: number } {
  const buckets = request.bins.read(answer);
  if (!request.sentinel) {
    if (!request.missing) throw new Error(`no missing-count aggregation beside ${request.bins.name}`);
    return {
      docs: buckets.map((b) => b.doc_count),
      moments: buckets.map(momentsOf),
      missing: request.missing.read(answer),
    };
  }
  // Buckets: (−∞, S), [S, nextUp(S)) = the sentinel bin, [nextUp(S), e0), [e0, e1), …
  const [below, sentinelBin, firstRest, ...rest] = buckets as [Bucket, Bucket, Bucket, ...Bucket[]];
  const genuine = momentsOf(sentinelBin);
  const first = mergeMoments(mergeMoments(momentsOf(below), genuine), momentsOf(firstRest));
  return {
    docs: [below.doc_count + genuine.count + firstRest.doc_count, ...rest.map((b) => b.doc_count)],
    moments: [first, ...rest.map(momentsOf)],
    missing: Math.max(0, sentinelBin.doc_count - genuine.count),
  };
}
