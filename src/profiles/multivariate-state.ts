/**
 * The shape of a baseline's multivariate drift state (fitted in multivariate.ts), apart from the
 * fitting so that types.ts can name it without an import cycle.
 */
import type { DomainClassifierNull } from '../stats/multivariate/domain-classifier.js';
import type { MultivariateRow } from '../stats/multivariate/encoding.js';
import type { ReconstructionModel } from '../stats/multivariate/reconstruction.js';

export interface MultivariateFeature {
  /** profile name (`x1`) */
  name: string;
  /** document field (`features.x1`) */
  field: string;
  kind: 'numeric' | 'categorical';
}

export interface MultivariateState {
  features: MultivariateFeature[];
  /** reference rows sampled for the fit, and rows in the reference */
  sampled: number;
  reconstruction: ReconstructionModel;
  domainClassifier: {
    /** raw reference rows (keyed by feature name) the window samples are classified against */
    referenceRows: MultivariateRow[];
    threshold: number;
    /** AUROCs of reference halves against each other: the statistic under no change */
    null?: DomainClassifierNull;
  };
}

/** Why a baseline has no multivariate state (fewer than 2 features, a feature with no value…). */
export interface NoMultivariate {
  reason: string;
}
