/**
 * Seldon Core feedback (`io.seldon.serving.feedback`) → mlmon outcomes. The body is a Seldon
 * `Feedback` message (seldon-core proto/prediction.proto: `request`, `response`, `reward`,
 * `truth`, the last three optional); `truth` is a SeldonMessage holding the true value per row.
 * The prediction it belongs to is `response.meta.puid` when the response is included (the puid
 * Seldon gave the prediction), else the event's `ce-requestid`; a graph node's prediction id
 * carries its `modelid` as the inference halves do ({@link predictionBaseId}).
 */
import type { CollectorMapping } from '../schema/config.js';
import type { OutcomeEvent } from '../schema/prediction.js';
import type { Feedback } from './cloudevents.js';
import { predictionBaseId } from './pairs.js';
import { PayloadError, responseOutputs } from './tensors.js';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The true value of one row: a class (one-hot or index list → its class), a label, or a number. */
function actualOf(row: unknown, classes: readonly string[] | undefined): OutcomeEvent['actual'] {
  if (Array.isArray(row) && row.length > 1 && row.every((v) => typeof v === 'number')) {
    const nums = row as number[];
    const best = nums.indexOf(Math.max(...nums));
    return { label: classes?.[best] ?? String(best) };
  }
  const v = Array.isArray(row) && row.length === 1 ? row[0] : row;
  if (typeof v === 'string' || typeof v === 'boolean') return { label: String(v) };
  if (typeof v === 'number' && Number.isFinite(v))
    return Number.isInteger(v) ? { label: classes?.[v] ?? String(v), value: v } : { value: v };
  throw new PayloadError('truth rows must hold a class, a label or a number');
}

/** The outcome events of a feedback (one per row of `truth`); throws PayloadError without truth. */
export function feedbackOutcomes(feedback: Feedback, mapping: CollectorMapping | undefined): OutcomeEvent[] {
  const body = feedback.body;
  if (!isObject(body)) throw new PayloadError('a Seldon feedback must be a JSON object');
  if (!isObject(body.truth))
    throw new PayloadError(
      'the feedback has no "truth" (a reward alone is not ground truth for one prediction)',
    );
  const response = isObject(body.response) ? body.response : undefined;
  const meta = response && isObject(response.meta) ? response.meta : undefined;
  const puid = typeof meta?.puid === 'string' && meta.puid !== '' ? meta.puid : feedback.key;
  const base = predictionBaseId({ source: 'seldon', key: puid, modelId: feedback.modelId });
  const [truth] = responseOutputs(body.truth).outputs;
  const rows = truth?.rows ?? [];
  if (rows.length === 0) throw new PayloadError('the feedback\'s "truth" holds no rows');
  const reward = typeof body.reward === 'number' && Number.isFinite(body.reward) ? body.reward : undefined;
  return rows.map((row, i) => {
    const outcome: OutcomeEvent = {
      id: rows.length === 1 ? base : `${base}-${i}`,
      actual: actualOf(row, mapping?.classes),
    };
    if (feedback.time) outcome.timestamp = feedback.time;
    if (reward !== undefined) outcome.labels = { reward };
    return outcome;
  });
}
