/**
 * The demo's model in production over simulated time: {@link Replay.advanceTo} moves the clock,
 * logging through the mlmon logger every prediction made before the new time (row i at
 * `rowTime(i)`) and every true label that has arrived by then (row i's at `rowTime(i + delay)`, a
 * day later), as a service would between two scheduler passes. `settle` waits until all of it is
 * indexed, so the pass that follows sees what was logged before it (the first run must see the
 * writes before it).
 */
import type { Client } from '@elastic/elasticsearch';
import { createPredictionLogger, type PredictionLogger } from '../../logger/index.js';
import type { LabelledRows } from './dataset.js';
import { rowTime, type DemoDataset } from './datasets.js';
import { predictProbability, type LogisticModel } from './logistic.js';

export interface ReplayOptions {
  client: Client;
  namespace: string;
  dataset: DemoDataset;
  data: LabelledRows;
  /** rows replayed (the first `rows` of the file) */
  rows: number;
  model: LogisticModel;
}

export class Replay {
  private readonly monitor: PredictionLogger;
  private readonly ids: string[] = [];
  /** next row to predict, next row whose label is to be sent */
  private nextPrediction = 0;
  private nextLabel = 0;
  private readonly delayMs: number;

  constructor(private readonly options: ReplayOptions) {
    this.monitor = createPredictionLogger({
      node: options.client,
      namespace: options.namespace,
      model: options.dataset.model,
    });
    this.delayMs = options.dataset.labelDelayRows * options.dataset.stepMs;
  }

  /** predictions and labels logged so far */
  get logged(): { predictions: number; outcomes: number } {
    return { predictions: this.nextPrediction, outcomes: this.nextLabel };
  }

  /** Logs what happened before `now` (epoch ms): predictions, and the labels that have arrived. */
  async advanceTo(now: number): Promise<void> {
    const { dataset: ds, data, rows, model } = this.options;
    while (
      this.nextPrediction < rows ||
      (this.nextLabel < this.nextPrediction && rowTime(ds, this.nextLabel) + this.delayMs < now)
    ) {
      // Events in time order: a label that arrived before the next prediction goes first.
      const predictionAt = this.nextPrediction < rows ? rowTime(ds, this.nextPrediction) : Infinity;
      const labelAt =
        this.nextLabel < this.nextPrediction ? rowTime(ds, this.nextLabel) + this.delayMs : Infinity;
      if (Math.min(predictionAt, labelAt) >= now) break;
      if (labelAt <= predictionAt) {
        const i = this.nextLabel++;
        this.monitor.logOutcome({
          id: this.ids[i] as string,
          actual: { label: String(data.labels[i]) },
          timestamp: labelAt,
        });
      } else {
        const i = this.nextPrediction++;
        const row = data.rows[i] as number[];
        const score = predictProbability(model, row);
        const features: Record<string, number> = {};
        data.features.forEach((f, j) => (features[f] = row[j] as number));
        this.ids.push(
          this.monitor.logPrediction({
            id: `${ds.id}-${i}`,
            timestamp: predictionAt,
            features,
            prediction: { label: score >= 0.5 ? '1' : '0', score },
            latencyMs: 0.05 + (i % 7) * 0.01,
          }),
        );
      }
      // Let the shipper work as traffic flows, as a service's event loop would.
      if ((this.nextPrediction + this.nextLabel) % 2000 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  /** Waits until everything logged so far is indexed; false when `timeoutMs` passed first. */
  settle(timeoutMs: number): Promise<boolean> {
    return this.monitor.flush(timeoutMs);
  }

  close(): ReturnType<PredictionLogger['close']> {
    return this.monitor.close();
  }
}
