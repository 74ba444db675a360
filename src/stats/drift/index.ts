/**
 * Pure drift statistics (no I/O): PSI, two-sample KS, normalised Wasserstein, Jensen–Shannon,
 * chi-square, mean-shift z, and DESIGN.md's decision rule. Exact versions on raw samples and
 * binned versions on (edges, counts) for the Elasticsearch path.
 */
export { DriftInputError } from './errors.js';
export { sortedFinite, meanStd } from './sample.js';
export { quantileSorted, quantileEdges, binIndex, binCounts } from './quantile.js';
export { PSI_EMPTY_SHARE, PSI_DEFAULT_BINS, psi, psiSorted, psiFromCounts, type PsiResult } from './psi.js';
export {
  KS_EXACT_MAX_N,
  ks2samp,
  ks2sampSorted,
  ksStatisticSorted,
  ksPValue,
  ksFromBinnedCounts,
  type KsResult,
} from './ks.js';
export { kolmogorovSf, smirnovSf, durbinCdf, pelzGoodCdf } from './kolmogorov.js';
export {
  WASSERSTEIN_STD_FLOOR,
  wasserstein,
  wassersteinSorted,
  wasserstein1Sorted,
  wassersteinFromBinnedCounts,
  wassersteinSamplingError,
  type WassersteinResult,
  type BinnedWassersteinOptions,
} from './wasserstein.js';
export {
  alignCategories,
  jensenShannon,
  jensenShannonFromCounts,
  chiSquare,
  chiSquareFromCounts,
  categoricalPsi,
  type CategoryCounts,
  type AlignedCounts,
  type ChiSquareResult,
} from './categorical.js';
export { regularizedGammaQ, chiSquareSf } from './gamma.js';
export { meanShiftZ, meanShiftZFromSamples, type MeanSummary } from './zscore.js';
export {
  DEFAULT_THRESHOLDS,
  LARGE_SAMPLE_SIZE,
  defaultMethod,
  decideDrift,
  isPValueMethod,
  type FeatureKind,
  type DriftMethod,
  type DriftSeverity,
  type DriftConfig,
  type DriftStats,
  type DriftDecision,
} from './decide.js';
export {
  numericDrift,
  categoricalDrift,
  type NumericDriftStats,
  type CategoricalDriftStats,
} from './feature.js';
