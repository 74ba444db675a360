/**
 * Model-server payloads → mlmon's features and prediction, by a small declared mapping
 * (collector.mappings in the configuration, docs/collect.md).
 *
 * Formats read (shapes only; no code taken):
 * - KServe V1 protocol: request `{ "instances": [...] }`, response `{ "predictions": [...] }`
 *   (kserve/kserve docs/samples/logger/basic, iris-input.json → `{"predictions": [1, 1]}`).
 * - Open Inference Protocol (KServe V2): request `{ "inputs": [{ name, shape, datatype, data }] }`,
 *   response `{ model_name, model_version, id, "outputs": [...] }`; `data` is row-major, flat or
 *   nested, and holds exactly product(shape) values.
 * - Seldon Core SeldonMessage: `{ "data": { "names": [...], "ndarray": [[...]] } }` or
 *   `{ "data": { "names": [...], "tensor": { "shape": [...], "values": [...] } } }`
 *   (SeldonIO/seldon-core seldon-request-logger/README.md, doc/source/analytics/logging.md).
 */
import type { CollectorMapping, OutputRole } from '../schema/config.js';
import type { PredictionEvent } from '../schema/prediction.js';

export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Largest number of rows or columns taken from one payload (beyond: refused, not truncated). */
const MAX_ROWS = 10_000;

interface Tensor {
  name: string;
  shape: number[];
  data: unknown[];
}

/** Flattens nested arrays (row-major) into `out`; refuses depth beyond 8. */
function flatten(value: unknown, out: unknown[], depth = 0): void {
  if (!Array.isArray(value)) {
    out.push(value);
    return;
  }
  if (depth > 8) throw new PayloadError('tensor data nested deeper than 8 levels');
  for (const v of value) flatten(v, out, depth + 1);
}

function readTensor(raw: unknown, where: string): Tensor {
  if (!isObject(raw)) throw new PayloadError(`${where} must be an object { name, shape, datatype, data }`);
  const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
  if (!name) throw new PayloadError(`${where} has no "name"`);
  const shape = raw.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))
    throw new PayloadError(`tensor "${name}": "shape" must be a list of non-negative integers`);
  if (typeof raw.datatype !== 'string') throw new PayloadError(`tensor "${name}" has no "datatype"`);
  const data: unknown[] = [];
  if (!Array.isArray(raw.data)) throw new PayloadError(`tensor "${name}": "data" must be a list`);
  flatten(raw.data, data);
  const expected = (shape as number[]).reduce((a, b) => a * b, 1);
  if (expected !== data.length)
    throw new PayloadError(
      `tensor "${name}": shape [${(shape as number[]).join(', ')}] holds ${expected} values, data has ${data.length}`,
    );
  return { name, shape: shape as number[], data };
}

/** Rows of a tensor: shape [N] or [N, 1] → scalars; [N, F, …] → arrays of the F×… values. */
function tensorRows(t: Tensor): unknown[] {
  const n = t.shape.length === 0 ? 1 : (t.shape[0] as number);
  if (n > MAX_ROWS) throw new PayloadError(`tensor "${t.name}": ${n} rows, more than ${MAX_ROWS}`);
  if (n === 0) return [];
  const width = t.data.length / n;
  if (width === 1) return t.data.slice();
  const rows: unknown[] = [];
  for (let i = 0; i < n; i++) rows.push(t.data.slice(i * width, (i + 1) * width));
  return rows;
}

function isV2Tensors(list: unknown): list is unknown[] {
  return (
    Array.isArray(list) &&
    list.length > 0 &&
    list.every((t) => isObject(t) && 'shape' in t && 'datatype' in t)
  );
}

function positional(values: unknown[], names: readonly string[] | undefined, prefix: string): Obj {
  if (names && names.length !== values.length)
    throw new PayloadError(`a row has ${values.length} columns, the mapping names ${names.length} features`);
  const row: Obj = {};
  values.forEach((v, j) => {
    row[names?.[j] ?? `${prefix}${j}`] = v;
  });
  return row;
}

/** The feature rows of a request payload. */
export function requestRows(body: unknown, mapping: CollectorMapping | undefined): Obj[] {
  if (!isObject(body)) throw new PayloadError('the request payload must be a JSON object');
  const names = mapping?.features;
  // Open Inference Protocol V2: one or more input tensors, all with the same number of rows.
  if (isV2Tensors(body.inputs)) {
    const tensors = body.inputs.map((t, i) => readTensor(t, `inputs[${i}]`));
    const perTensor = tensors.map(tensorRows);
    const n = perTensor[0]?.length ?? 0;
    perTensor.forEach((rows, i) => {
      if (rows.length !== n)
        throw new PayloadError(
          `input tensors disagree on rows: "${tensors[0]?.name}" has ${n}, "${tensors[i]?.name}" ${rows.length}`,
        );
    });
    const rows: Obj[] = [];
    for (let r = 0; r < n; r++) {
      if (tensors.length === 1 && Array.isArray(perTensor[0]?.[r]))
        rows.push(positional(perTensor[0]?.[r] as unknown[], names, `${tensors[0]?.name}_`));
      else {
        const row: Obj = {};
        tensors.forEach((t, i) => {
          const v = perTensor[i]?.[r];
          if (Array.isArray(v)) v.forEach((x, j) => (row[`${t.name}_${j}`] = x));
          else row[t.name] = v;
        });
        rows.push(row);
      }
    }
    return rows;
  }
  // KServe V1 (and TF-serving style "inputs" as a list of rows).
  const instances = Array.isArray(body.instances)
    ? body.instances
    : Array.isArray(body.inputs)
      ? body.inputs
      : undefined;
  if (instances) {
    if (instances.length > MAX_ROWS)
      throw new PayloadError(`${instances.length} instances, more than ${MAX_ROWS}`);
    return instances.map((inst) =>
      isObject(inst)
        ? inst
        : Array.isArray(inst)
          ? positional(inst, names, 'f')
          : positional([inst], names, 'f'),
    );
  }
  // Seldon: data.ndarray (rows) or data.tensor (shape + values), columns named by data.names.
  if (isObject(body.data)) {
    const data = body.data;
    const cols =
      mapping?.features ??
      (Array.isArray(data.names) && data.names.every((n) => typeof n === 'string')
        ? (data.names as string[])
        : undefined);
    let rows: unknown[];
    if (Array.isArray(data.ndarray)) rows = data.ndarray;
    else if (isObject(data.tensor)) rows = seldonTensorRows(data.tensor);
    else throw new PayloadError('data holds neither "ndarray" nor "tensor"');
    if (rows.length > MAX_ROWS) throw new PayloadError(`${rows.length} rows, more than ${MAX_ROWS}`);
    return rows.map((r) => (Array.isArray(r) ? positional(r, cols, 'f') : positional([r], cols, 'f')));
  }
  if (isObject(body.jsonData)) return [body.jsonData];
  throw new PayloadError(
    'unknown request payload: expected "instances" (V1), "inputs" (V2) or "data" (Seldon)',
  );
}

/** The rows of a SeldonMessage `data.tensor` (`shape` and row-major `values`). */
function seldonTensorRows(tensor: Record<string, unknown>): unknown[] {
  return tensorRows(
    readTensor({ name: 'tensor', datatype: 'FP64', shape: tensor.shape, data: tensor.values }, 'data.tensor'),
  );
}

export interface Output {
  name: string;
  rows: unknown[];
}

/** The outputs of a response payload, each with one value (scalar or list) per row. */
export function responseOutputs(body: unknown): { outputs: Output[]; model?: string; version?: string } {
  if (!isObject(body)) throw new PayloadError('the response payload must be a JSON object');
  const model = typeof body.model_name === 'string' ? body.model_name : undefined;
  const version = typeof body.model_version === 'string' ? body.model_version : undefined;
  if (isV2Tensors(body.outputs)) {
    const tensors = body.outputs.map((t, i) => readTensor(t, `outputs[${i}]`));
    return { outputs: tensors.map((t) => ({ name: t.name, rows: tensorRows(t) })), model, version };
  }
  if (Array.isArray(body.predictions))
    return { outputs: [{ name: 'predictions', rows: body.predictions }], model, version };
  if (isObject(body.data)) {
    const data = body.data;
    let rows: unknown[];
    if (Array.isArray(data.ndarray))
      rows = data.ndarray.map((r) => (Array.isArray(r) && r.length === 1 ? r[0] : r));
    else if (isObject(data.tensor)) rows = seldonTensorRows(data.tensor);
    else throw new PayloadError('data holds neither "ndarray" nor "tensor"');
    return { outputs: [{ name: 'data', rows }], model, version };
  }
  throw new PayloadError(
    'unknown response payload: expected "predictions" (V1), "outputs" (V2) or "data" (Seldon)',
  );
}

function autoRole(value: unknown): OutputRole {
  if (Array.isArray(value)) return 'probabilities';
  return typeof value === 'number' ? 'value' : 'label';
}

function asNumber(value: unknown, what: string): number {
  if (typeof value === 'number') return value;
  throw new PayloadError(`${what} must be a number, got ${Array.isArray(value) ? 'a list' : typeof value}`);
}

/**
 * The prediction of one row. Roles come from `mapping.outputs` (output name → label, score, value
 * or probabilities); without it, the first output's role follows its values (a list →
 * probabilities, a number → value, else label). Probabilities also give the label (the most
 * probable class) and, with two classes, the score (the second class) unless mapped otherwise.
 */
export function rowPrediction(
  outputs: Output[],
  row: number,
  mapping: CollectorMapping | undefined,
): PredictionEvent['prediction'] {
  const prediction: NonNullable<PredictionEvent['prediction']> = {};
  const roles: Array<[Output, OutputRole]> = [];
  if (mapping?.outputs) {
    for (const [name, role] of Object.entries(mapping.outputs)) {
      const output = outputs.find((o) => o.name === name);
      if (output) roles.push([output, role]);
    }
    if (roles.length === 0)
      throw new PayloadError(
        `none of the mapped outputs (${Object.keys(mapping.outputs).join(', ')}) is in the response (${outputs.map((o) => o.name).join(', ')})`,
      );
  } else if (outputs[0]) roles.push([outputs[0], autoRole(outputs[0].rows[row])]);
  for (const [output, role] of roles) {
    const value = output.rows[row];
    const what = `output "${output.name}" row ${row}`;
    if (role === 'label') {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
        prediction.label = value;
      else throw new PayloadError(`${what} must be a class label (string, number or boolean)`);
    } else if (role === 'score')
      prediction.score =
        Array.isArray(value) && value.length === 2 ? asNumber(value[1], what) : asNumber(value, what);
    else if (role === 'value') prediction.value = asNumber(value, what);
    else {
      const list = Array.isArray(value) ? value : [value];
      const probabilities: Record<string, number> = {};
      let best = -Infinity;
      let bestClass: string | undefined;
      list.forEach((p, j) => {
        const cls = mapping?.classes?.[j] ?? String(j);
        const n = asNumber(p, what);
        probabilities[cls] = n;
        if (n > best) {
          best = n;
          bestClass = cls;
        }
      });
      prediction.probabilities = probabilities;
      if (!roles.some(([, r]) => r === 'label') && bestClass !== undefined) prediction.label = bestClass;
      if (list.length === 2 && !roles.some(([, r]) => r === 'score'))
        prediction.score = asNumber(list[1], what);
    }
  }
  return prediction;
}
