/**
 * Baselines as the analyzer builds and reads them, with the reference period's score calibration.
 *
 * Building (`buildBaseline`, what `mlmon baseline --from --to` and the demo call): the reference
 * window's predictions are profiled with aggregations (profiles/from-elasticsearch.ts); their
 * outcomes are joined first (`runJoin`, the same incremental, idempotent join the analysis runs), so
 * that the labels logged for the reference are in the evaluation stream; then, for a model with
 * scores, an isotonic map from score to P(positive) is fitted on those labelled predictions
 * (profiles/calibration.ts) and stored with the profile in `mlmon-baselines`. Without enough labels
 * (`MIN_CALIBRATION_LABELS`) or with one class only, no map is fitted and the baseline records why
 * (`profile.uncalibrated`, `baseline.calibration.reason`): the estimate then takes raw scores as
 * probabilities, and its result documents say `performance.estimated.calibrated: false`.
 *
 * Reading (`calibrationLookup`): the performance job of `mlmon analyze` and of the scheduler asks,
 * per model version, for the calibration of the reference it analyzes against (the stored
 * baseline's map; a reference window's labels fitted on the fly; an explicit profile's map), once
 * per version and run.
 */
import type { Client } from '@elastic/elasticsearch';
import {
  type ReferenceCalibration,
  type ReferenceMulticlassCalibration,
  referenceCalibration,
  referenceMulticlassCalibration,
  withReferenceCalibration,
  withReferenceMulticlassCalibration,
} from '../profiles/calibration.js';
import {
  type ElasticsearchProfileOptions,
  profileFromElasticsearch,
} from '../profiles/from-elasticsearch.js';
import {
  referenceLossModel,
  withReferenceLossModel,
  type ReferenceLossModel,
} from '../profiles/loss-model.js';
import { multivariateFromElasticsearch, withMultivariate } from '../profiles/multivariate.js';
import { DEFAULT_BASELINE_ID, getBaseline, saveBaseline, type StoredBaseline } from '../profiles/store.js';
import type { DatasetProfile } from '../profiles/types.js';
import type { Label } from '../stats/performance/index.js';
import type { CalibrationMode, ScoreCalibration } from '../stats/performance/calibration.js';
import type { MulticlassCalibration } from '../stats/performance/cbpe-multiclass-calibration.js';
import type { ReferenceSpec } from './job.js';
import { runJoin, type JoinResult } from './join.js';
import { refreshInputs } from './refresh.js';

export interface BuildBaselineOptions extends ElasticsearchProfileOptions {
  model: string;
  version: string;
  /** baseline id within the model version (default `default`) */
  id?: string;
  /** overwrite a stored baseline with the same id */
  replace?: boolean;
  /** `isotonic` (default): fit a calibration on the reference labels when there are enough */
  calibration?: CalibrationMode;
  /** the class `prediction.score` is the probability of (default '1') */
  positiveClass?: Label;
  /** fewest labelled reference predictions to calibrate on (default MIN_CALIBRATION_LABELS) */
  minLabelled?: number;
}

export interface BuiltBaseline {
  stored: StoredBaseline;
  profile: DatasetProfile;
  /** the map, or why there is none */
  calibration: ReferenceCalibration;
  /**
   * multi-class models (no labelled `prediction.score`, labelled class probabilities): the per-class
   * maps, or why there are none
   */
  multiclassCalibration?: ReferenceMulticlassCalibration;
  /**
   * regression: the direct loss estimation model fitted on the reference labels, or why there is
   * none; absent when the reference has no labelled regression prediction
   */
  lossModel?: ReferenceLossModel;
  /** the join run before calibrating (labels logged so far joined to their predictions) */
  join: JoinResult;
}

/**
 * Profiles the reference window, calibrates the scores on its labels and stores both as the
 * baseline (see the module comment). Throws `NoReferenceDataError` when the window holds no
 * prediction, `BaselineExistsError` when the baseline exists and `replace` is not set.
 */
export async function buildBaseline(client: Client, options: BuildBaselineOptions): Promise<BuiltBaseline> {
  const { namespace, model, version, from, to } = options;
  // "Log, then build the baseline" must see what was logged: both streams refreshed, outcomes joined.
  await refreshInputs(client, namespace);
  const join = await runJoin(client, {
    namespace,
    model,
    ...(options.positiveClass !== undefined ? { positiveClass: options.positiveClass } : {}),
  });
  const profiled = await profileFromElasticsearch(client, options);
  const calibration = await referenceCalibration(client, {
    namespace,
    model,
    version,
    from,
    to,
    positiveClass: options.positiveClass,
    mode: options.calibration,
    minLabelled: options.minLabelled,
  });
  // A multi-class model has no `prediction.score`: its class probabilities get per-class maps instead.
  const multiclassCalibration =
    calibration.method === 'none' && calibration.labelled === 0 && options.calibration !== 'none'
      ? await referenceMulticlassCalibration(client, {
          namespace,
          model,
          version,
          from,
          to,
          mode: options.calibration,
          minLabelled: options.minLabelled,
        })
      : undefined;
  // stored only where there was something to fit (a binary or regression reference has no class
  // probabilities, and its profile keeps the binary reason)
  const multiclass =
    multiclassCalibration &&
    (multiclassCalibration.method === 'top_label_isotonic' || multiclassCalibration.labelled > 0)
      ? multiclassCalibration
      : undefined;
  // A regressor's reference with labels also gets its loss model (estimated MAE/RMSE, loss-model.ts).
  const lossModel = await referenceLossModel(client, {
    namespace,
    model,
    version,
    from,
    to,
    profile: profiled,
  });
  // Multivariate drift (PCA reconstruction, domain classifier): fitted on a random sample of the reference rows.
  const multivariate = await multivariateFromElasticsearch(client, profiled, {
    namespace,
    model,
    version,
    from,
    to,
  });
  const calibrated = withReferenceCalibration(profiled, calibration);
  const profile = withMultivariate(
    withReferenceLossModel(
      multiclass ? withReferenceMulticlassCalibration(calibrated, multiclass) : calibrated,
      lossModel,
    ),
    multivariate,
  );
  const stored = await saveBaseline(client, { model, version, id: options.id, namespace }, profile, {
    replace: options.replace,
  });
  return {
    stored,
    profile,
    calibration,
    ...(multiclass ? { multiclassCalibration: multiclass } : {}),
    ...(lossModel ? { lossModel } : {}),
    join,
  };
}

/** One line for people: what the estimate of this baseline's model will use. */
export function describeCalibration(
  calibration: ReferenceCalibration | ReferenceMulticlassCalibration,
): string {
  if (calibration.method === 'top_label_isotonic') {
    const m = calibration.map;
    const cf = m.cross_fit;
    return (
      `class-probability calibration: isotonic per predicted class (${Object.keys(m.classes).join(', ')}) from ${m.count} labelled reference predictions` +
      (cf
        ? `; out of fold expected accuracy ${cf.expected_accuracy.toFixed(3)} vs realised ${cf.realised_accuracy.toFixed(3)} (Brier ${cf.brier_calibrated.toFixed(4)} vs ${cf.brier_raw.toFixed(4)} raw)${cf.trusted ? '' : ': NOT TRUSTED, estimates will be flagged'}`
        : '') +
      (m.uncalibrated ? `; raw for: ${Object.values(m.uncalibrated).join('; ')}` : '')
    );
  }
  if (calibration.method === 'isotonic') {
    const m = calibration.map;
    return `score calibration: isotonic, ${m.scores.length} knots from ${m.count} labelled reference predictions (${m.positives} positive)`;
  }
  return `score calibration: none (${calibration.message})`;
}

/** The calibration of one version's reference, and a note when the estimate goes without one. */
export interface VersionCalibration {
  /** binary: the score map; multi-class: the per-class maps */
  calibration?: ScoreCalibration | MulticlassCalibration;
  /** why the estimate takes raw scores (absent when calibrated, or when calibration is switched off) */
  note?: string;
}

export type CalibrationLookup = (version: string) => Promise<VersionCalibration>;

export interface CalibrationLookupOptions {
  namespace: string;
  model: string;
  /** the reference the analysis compares with (a stored baseline, a window, a profile) */
  reference: ReferenceSpec;
  /** `none`: raw scores whatever the reference holds (default `isotonic`) */
  mode?: CalibrationMode;
  positiveClass?: Label;
}

/** Per version, the calibration the reference holds (read once per version; see the module comment). */
export function calibrationLookup(client: Client, options: CalibrationLookupOptions): CalibrationLookup {
  const cache = new Map<string, Promise<VersionCalibration>>();
  const lookup = async (version: string): Promise<VersionCalibration> => {
    if (options.mode === 'none') return {};
    const ref = options.reference;
    let profile: DatasetProfile | undefined;
    if (ref.type === 'profile') profile = ref.profile;
    else if (ref.type === 'baseline') {
      const id = ref.id ?? DEFAULT_BASELINE_ID;
      profile = (
        await getBaseline(client, { model: options.model, version, id, namespace: options.namespace })
      )?.profile;
      if (!profile)
        return {
          note: `version ${version}: no baseline "${id}", so the estimate takes raw scores as probabilities`,
        };
    } else {
      const fitted = await referenceCalibration(client, {
        namespace: options.namespace,
        model: options.model,
        version,
        from: ref.from,
        to: ref.to,
        positiveClass: options.positiveClass,
      });
      if (fitted.method === 'isotonic') return { calibration: fitted.map };
      if (fitted.labelled === 0) {
        const multi = await referenceMulticlassCalibration(client, {
          namespace: options.namespace,
          model: options.model,
          version,
          from: ref.from,
          to: ref.to,
        });
        if (multi.method === 'top_label_isotonic') return { calibration: multi.map };
        if (multi.labelled > 0) return { note: `version ${version}: ${multi.message}` };
      }
      return { note: `version ${version}: ${fitted.message}` };
    }
    if (profile.calibration) return { calibration: profile.calibration };
    if (profile.multiclassCalibration) return { calibration: profile.multiclassCalibration };
    const why = profile.uncalibrated?.message ?? 'the reference was stored without a score calibration';
    return { note: `version ${version}: ${why}` };
  };
  return oncePerVersion(cache, lookup);
}

/** A per-version look-up that asks Elasticsearch once per version and hands out the same answer. */
export function oncePerVersion<T>(
  cache: Map<string, Promise<T>>,
  lookup: (version: string) => Promise<T>,
): (version: string) => Promise<T> {
  return (version) => {
    let found = cache.get(version);
    if (!found) {
      found = lookup(version);
      cache.set(version, found);
    }
    return found;
  };
}
