/**
 * Multivariate drift of one window (issue 27): a bounded random sample of the window's predictions
 * (at most WINDOW_SAMPLE_ROWS, drawn in Elasticsearch by profiles/multivariate.ts's `sampleRows`)
 * against the multivariate state stored with the baseline, by two methods, each one drift document
 * with `feature.role: "multivariate"`:
 *
 * - `pca_reconstruction`: the sample's mean reconstruction error (`drift.score`), its sampling error
 *   σ/√n (`drift.error`), the band reference mean ± 3σ/√n (`drift.lower_threshold`,
 *   `drift.threshold`) and `drift.detected` outside it;
 * - `domain_classifier`: the cross-validated AUROC of the sample against the stored reference rows
 *   (`drift.score`), the threshold 0.65 and, as its null distribution, the reference's
 *   half-against-half AUROCs (`drift.null_mean`, `drift.null_max`).
 *
 * Severity has the cut points of the per-feature distances (decide.ts): the excess over the band
 * measured in band widths, below 1 none, 2 low, 4 medium, above high.
 */
import type { Client } from '@elastic/elasticsearch';
import { sampleRows, WINDOW_SAMPLE_ROWS } from '../profiles/multivariate.js';
import type { MultivariateState } from '../profiles/multivariate-state.js';
import { resultId } from '../schema/result-document.js';
import type { TimeWindow } from '../schema/window.js';
import { domainClassifierDrift } from '../stats/multivariate/domain-classifier.js';
import { reconstructionDrift } from '../stats/multivariate/reconstruction.js';
import { common, type PendingDocument, type ResultContext } from './results.js';

export const MULTIVARIATE_ROLE = 'multivariate';
export type MultivariateMethod = 'pca_reconstruction' | 'domain_classifier';

/** `feature.name` of a window's multivariate document, one per method. */
export function multivariateFeatureName(method: MultivariateMethod): string {
  return `_multivariate.${method}`;
}

export interface MultivariateWindowOptions {
  namespace: string;
  model: string;
  version: string;
  window: TimeWindow;
  state: MultivariateState;
  /** rows per window sample (default WINDOW_SAMPLE_ROWS) */
  sampleSize?: number;
}

export interface MultivariateWindowResult {
  /** documents in the window, and those sampled */
  count: number;
  sampled: number;
  drift: Array<{ method: MultivariateMethod; value: number; threshold: number; detected: boolean }>;
}

function severity(excess: number): 'none' | 'low' | 'medium' | 'high' {
  if (excess < 1) return 'none';
  if (excess < 2) return 'low';
  if (excess < 4) return 'medium';
  return 'high';
}

/** Sample the window, compute both statistics; undefined for an empty window. */
export async function multivariateWindow(
  client: Client,
  options: MultivariateWindowOptions,
): Promise<{ result: MultivariateWindowResult; drift: Array<Record<string, unknown>> } | undefined> {
  const { state, window } = options;
  const { rows, total } = await sampleRows(client, {
    namespace: options.namespace,
    model: options.model,
    version: options.version,
    from: window.start,
    to: window.end,
    features: state.features,
    size: options.sampleSize ?? WINDOW_SAMPLE_ROWS,
  });
  if (rows.length === 0) return undefined;
  const drift: Array<Record<string, unknown>> = [];
  const pca = reconstructionDrift(state.reconstruction, rows);
  if (pca) {
    const mean = state.reconstruction.errorMean;
    const half = pca.upper - mean;
    drift.push({
      method: 'pca_reconstruction',
      score: pca.value,
      error: pca.error,
      threshold: pca.upper,
      lower_threshold: pca.lower,
      reference_mean: mean,
      detected: pca.detected,
      severity: severity(half > 0 ? Math.abs(pca.value - mean) / half : 0),
    });
  }
  // The classifier sees as many window rows as reference rows (balanced classes; its cost is
  // ~n·p² per Newton step, bench/RESULTS.md); the sample is in random order, so a prefix is random.
  const dc = domainClassifierDrift(
    state.reconstruction.encoding,
    state.domainClassifier.referenceRows,
    rows.slice(0, state.domainClassifier.referenceRows.length),
    state.domainClassifier.threshold,
  );
  if (dc) {
    const nul = state.domainClassifier.null;
    drift.push({
      method: 'domain_classifier',
      score: dc.value,
      threshold: dc.threshold,
      detected: dc.detected,
      severity: severity((dc.value - 0.5) / (dc.threshold - 0.5)),
      reference_rows: dc.referenceRows,
      ...(nul ? { null_mean: nul.mean, null_max: nul.max } : {}),
    });
  }
  return {
    result: {
      count: total,
      sampled: rows.length,
      drift: drift.map((d) => ({
        method: d.method as MultivariateMethod,
        value: d.score as number,
        threshold: d.threshold as number,
        detected: d.detected as boolean,
      })),
    },
    drift,
  };
}

/** The window's multivariate drift documents (see the module comment), with the shared fields of `ctx`. */
export async function multivariateDocuments(
  client: Client,
  options: MultivariateWindowOptions,
  ctx: ResultContext,
): Promise<{ result: MultivariateWindowResult; documents: PendingDocument[] } | undefined> {
  const found = await multivariateWindow(client, options);
  if (!found) return undefined;
  const { result } = found;
  const base = common({
    ...ctx,
    sample: { probability: result.count > 0 ? result.sampled / result.count : 1, documents: result.sampled },
  });
  const documents = found.drift.map((drift) => {
    const method = drift.method as MultivariateMethod;
    const name = multivariateFeatureName(method);
    return {
      stream: 'drift' as const,
      id: resultId('drift', [ctx.model, ctx.version, name, ctx.start.toISOString(), ctx.end.toISOString()]),
      document: {
        ...base,
        feature: { name, kind: 'dataset', role: MULTIVARIATE_ROLE },
        feature_count: result.sampled,
        multivariate: { features: options.state.features.map((f) => f.name) },
        drift,
      },
    };
  });
  return { result, documents };
}
