/**
 * A small logistic regression for the demo: the "model in production" whose inputs and outputs
 * mlmon monitors. Batch gradient descent on standardised features, with L2 regularisation; enough
 * for a few thousand rows and a handful of features, and deterministic (no random start).
 */
export interface LogisticModel {
  features: string[];
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export function fitLogistic(
  rows: number[][],
  labels: number[],
  features: string[],
  options: { iterations?: number; learningRate?: number; l2?: number } = {},
): LogisticModel {
  const n = rows.length;
  if (n === 0) throw new Error('fitLogistic: no rows');
  const d = features.length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (const row of rows) for (let j = 0; j < d; j++) mean[j]! += row[j]! / n;
  for (const row of rows) for (let j = 0; j < d; j++) scale[j]! += (row[j]! - mean[j]!) ** 2 / n;
  // A constant feature keeps scale 1, so it divides by nothing. "Constant" includes a standard
  // deviation of rounding size (ELEC2's Victoria columns in the first year: about 1e-17), which
  // would otherwise blow later values up to ±1e15 and saturate every score at 0 or 1.
  for (let j = 0; j < d; j++) {
    const std = Math.sqrt(scale[j]!);
    scale[j] = std > 1e-9 * Math.max(1, Math.abs(mean[j]!)) ? std : 1;
  }
  const x = rows.map((row) => row.map((v, j) => (v - mean[j]!) / scale[j]!));
  const weights = new Array<number>(d).fill(0);
  let bias = 0;
  const iterations = options.iterations ?? 500;
  const rate = options.learningRate ?? 0.5;
  const l2 = options.l2 ?? 1e-3;
  const gradient = new Array<number>(d);
  for (let it = 0; it < iterations; it++) {
    gradient.fill(0);
    let gradientBias = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[i]!;
      let z = bias;
      for (let j = 0; j < d; j++) z += weights[j]! * xi[j]!;
      const error = sigmoid(z) - labels[i]!;
      for (let j = 0; j < d; j++) gradient[j]! += (error * xi[j]!) / n;
      gradientBias += error / n;
    }
    for (let j = 0; j < d; j++) weights[j]! -= rate * (gradient[j]! + l2 * weights[j]!);
    bias -= rate * gradientBias;
  }
  return { features, mean, scale, weights, bias };
}

/** Probability of class 1. */
export function predictProbability(model: LogisticModel, row: number[]): number {
  let z = model.bias;
  for (let j = 0; j < model.weights.length; j++)
    z += (model.weights[j]! * (row[j]! - model.mean[j]!)) / model.scale[j]!;
  return sigmoid(z);
}
