/**
 * What every per-window analyzer job is asked about: one model (one version, or all of them), one
 * window, and whether to write. `runFullAnalysis` builds it once per version and window and hands
 * it whole to the performance and service jobs (their options extend it), so that the fields are
 * spelled once; the scheduler builds it from its `WindowJobContext` (`windowTargetOf`).
 */
import type { TimeWindow } from '../schema/window.js';

export interface WindowTarget {
  /** Data stream namespace (default `default`). */
  namespace?: string;
  model: string;
  /** One version; default every version with predictions in the window. */
  version?: string;
  window: TimeWindow;
  /** Store the documents (default true). */
  write?: boolean;
  refresh?: boolean;
}
