import { DriftInputError } from './errors.js';
import { meanStd } from './sample.js';

export interface MeanSummary {
  mean: number;
  count: number;
}

/**
 * z-score of the shift in mean: (current mean − reference mean) / (reference std / √n_current).
 * The denominator is the standard error that the mean of n_current values drawn from the reference
 * distribution would have, so |z| > 2 means a shift unlikely under "no drift" even though it may
 * be tiny in the feature's units (unlike normalised Wasserstein, z grows with window size).
 * Reference std is ddof 0. A constant reference (std 0) gives 0 when the means are equal and
 * ±Infinity otherwise; callers that serialise to JSON must map those to null.
 */
export function meanShiftZ(reference: { mean: number; std: number }, current: MeanSummary): number {
  if (!(current.count > 0)) throw new DriftInputError('mean shift: current window is empty');
  if (!(reference.std >= 0)) throw new DriftInputError(`mean shift: invalid reference std ${reference.std}`);
  const diff = current.mean - reference.mean;
  if (reference.std === 0) return diff === 0 ? 0 : diff > 0 ? Infinity : -Infinity;
  return diff / (reference.std / Math.sqrt(current.count));
}

/** {@link meanShiftZ} from raw samples. */
export function meanShiftZFromSamples(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const r = meanStd(reference);
  const c = meanStd(current);
  return meanShiftZ(r, { mean: c.mean, count: current.length });
}
