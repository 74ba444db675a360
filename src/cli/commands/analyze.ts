import { checkConnection, createClient } from '../../elastic/client.js';
import { installTemplates } from '../../elastic/templates.js';
import { AnalyzeError, type ReferenceSpec } from '../../analyzer/job.js';
import { runFullAnalysis, type FullAnalysisResult } from '../../analyzer/run.js';
import { comparisonSentence } from '../../report/comparison.js';
import { splitWindows, WindowError, wholeWindows } from '../../analyzer/windows.js';
import { DEFAULT_BASELINE_ID } from '../../profiles/store.js';
import { DEFAULT_CALIBRATION_MODE } from '../../schema/config/schema.js';
import { ConfigError, loadConfig, type ModelConfig } from '../../schema/config.js';
import { formatDuration } from '../../schema/duration.js';
import { configuredBounds } from '../../analyzer/performance-request.js';
import { CALIBRATION_MODES, type CalibrationMode } from '../../stats/performance/calibration.js';
import {
  choice,
  commaList,
  defineCommand,
  durationValue,
  EXIT,
  formatOption,
  positiveInteger,
  probability,
  timeValue,
  UsageError,
  namespaceValue,
} from '../command.js';
import { type CommandIO, writeJson } from '../io.js';

const taskValue = choice('binary', 'multiclass', 'regression');

export const analyzeCommand = defineCommand({
  name: 'analyze',
  summary: 'analyze windows now: drift, quality, performance and service health results',
  usage: [
    '--model M [--version V] [--namespace N] --from T --to T --window 1h [--config path]',
    '    [--baseline ID | --reference-from T --reference-to T]',
    '    [--align-to T] [--sample-above N] [--dry-run] [--format table|json]',
    '    [--task binary|multiclass|regression] [--positive-class C] [--threshold X]',
    '    [--segments a,b] [--calibration isotonic|none] [--drift-only]',
  ],
  description: `Cuts [--from, --to), widened to whole windows, into windows of --window (aligned to multiples of the size from the Unix epoch,
or from --align-to), compares every feature, output and target of each window with the reference,
computed in Elasticsearch with aggregations (one request per window), and writes drift and quality
documents to metrics-mlmon.drift-{ns} and metrics-mlmon.quality-{ns} with deterministic ids (a re-run
overwrites). Without --version each version with predictions in the range is analyzed against its
own baseline (or reference window); a version without one gets no drift documents, its performance
and service health all the same, and a one-line note on stderr says how to add a baseline. Before the windows, newly arrived outcomes are joined to their
predictions (metrics-mlmon.evaluation-{ns}); each window then also gets performance documents
(realised from labels, estimated from the scores before labels arrive) in
metrics-mlmon.performance-{ns} and service health (latency, throughput, errors) in
metrics-mlmon.service-{ns}.

With --config, the model's settings come from the scheduler's configuration file (the entry named
--model): namespace, window, baseline, performance bounds, positive class, threshold and calibration,
so that analyze and the scheduler judge the same data alike (a flag given on the command line wins).`,
  options: {
    model: { type: 'string', value: 'M', description: 'model name', required: true },
    config: {
      type: 'string',
      short: 'c',
      value: 'path',
      description:
        "take the model's settings (bounds, window, baseline…) from this scheduler configuration file",
    },
    version: { type: 'string', value: 'V', description: 'one model version (default: every version)' },
    namespace: {
      type: 'string',
      value: 'N',
      description: "data stream namespace (default: the --config file's, else default)",
      parse: namespaceValue,
    },
    from: { type: 'string', value: 'T', description: 'start of the range', required: true, parse: timeValue },
    to: { type: 'string', value: 'T', description: 'end of the range', required: true, parse: timeValue },
    window: {
      type: 'string',
      value: 'D',
      description: "window size: 15m, 1h, 1d, 1w (required unless --config gives the model's)",
      parse: (text: string) => ({ size: text, ms: durationValue(text) }),
    },
    baseline: {
      type: 'string',
      value: 'ID',
      description: `stored baseline id (default: ${DEFAULT_BASELINE_ID}), see mlmon baseline`,
    },
    'reference-from': {
      type: 'string',
      value: 'T',
      description: 'profile this time window of the same model version as the reference',
      parse: timeValue,
    },
    'reference-to': { type: 'string', value: 'T', description: 'end of that window', parse: timeValue },
    'align-to': {
      type: 'string',
      value: 'T',
      description: 'cut windows from this time instead of the Unix epoch',
      parse: timeValue,
    },
    'sample-above': {
      type: 'string',
      value: 'N',
      description: 'sample windows with more than N documents (random_sampler) down to about N',
      parse: positiveInteger,
    },
    'dry-run': { type: 'boolean', description: 'compute and print, write nothing' },
    task: {
      type: 'string',
      value: 'T',
      description:
        'performance task: binary, multiclass or regression (default: detected: value → regression,\nscore → binary, label → multiclass)',
      parse: taskValue,
    },
    'positive-class': {
      type: 'string',
      value: 'C',
      description: 'positive class of a binary model (default 1)',
    },
    threshold: {
      type: 'string',
      value: 'X',
      description: 'decision threshold of a binary model (default 0.5)',
      parse: probability,
    },
    segments: {
      type: 'string',
      value: 'a,b',
      description: 'labels.* names for per-segment performance and fairness',
      parse: commaList,
    },
    calibration: {
      type: 'string',
      value: 'M',
      description: `estimated performance: isotonic (default) maps scores through the calibration\nstored with the baseline (raw scores, with a note, when it has none); none: raw scores`,
      parse: choice<CalibrationMode>(...CALIBRATION_MODES),
    },
    'drift-only': { type: 'boolean', description: 'drift and quality only' },
    format: formatOption,
  },
  notes: 'Times: ISO 8601 (2024-05-01T00:00:00Z, 2024-05-01), now, now-1d. Impossible dates are refused.',
  exitCodes: { 3: 'no baseline or no predictions for the model in the range' },
  run: async (values, io) => {
    const model = values.config === undefined ? undefined : modelSettings(values.config, values.model);
    const window =
      values.window ?? (model ? { size: formatDuration(model.windowMs), ms: model.windowMs } : undefined);
    if (!window) throw new UsageError("--window is required (or --config with the model's window)");
    const namespace = values.namespace ?? model?.namespace ?? 'default';
    const hasRefWindow = values['reference-from'] !== undefined || values['reference-to'] !== undefined;
    if (hasRefWindow && values.baseline !== undefined)
      throw new UsageError('give --baseline or --reference-from/--reference-to, not both');
    let reference: ReferenceSpec;
    if (hasRefWindow) {
      const rf = values['reference-from'];
      const rt = values['reference-to'];
      if (!rf || !rt) throw new UsageError('--reference-from and --reference-to go together');
      if (!(rt > rf)) throw new UsageError('--reference-to must be after --reference-from');
      reference = { type: 'window', from: rf, to: rt };
    } else reference = { type: 'baseline', id: values.baseline ?? model?.baseline ?? DEFAULT_BASELINE_ID };
    if (!(values.to > values.from)) throw new UsageError('--to must be after --from');
    // One result per aligned window: the range is widened to whole windows, said on stderr.
    const { from, to, widened } = wholeWindows(values.from, values.to, window.ms, values['align-to']);
    if (widened)
      io.stderr.write(
        `note: widened to whole ${window.size} windows: ${from.toISOString()} to ${to.toISOString()} (one result per window, the scheduler's id)\n`,
      );
    // Too many windows is a typo in the command line (--window 1m over decades): said before
    // anything is contacted, by the same cut the analysis makes.
    try {
      splitWindows(from, to, window.ms, values['align-to']);
    } catch (error) {
      if (error instanceof WindowError)
        throw new UsageError(`${error.message}: give a larger --window or a shorter --from/--to range`);
      throw error;
    }
    const client = createClient();
    try {
      await checkConnection(client);
      if (!values['dry-run']) await installTemplates(client);
      let result: FullAnalysisResult;
      try {
        result = await runFullAnalysis(client, {
          namespace,
          model: values.model,
          version: values.version,
          from,
          to,
          windowMs: window.ms,
          windowSize: window.size,
          anchor: values['align-to'],
          reference,
          write: !values['dry-run'],
          sampleAbove: values['sample-above'],
          task: values.task,
          positiveClass: values['positive-class'] ?? model?.performance.positiveClass,
          threshold: values.threshold ?? model?.performance.threshold,
          segments: values.segments,
          calibration: values.calibration ?? model?.performance.calibration ?? DEFAULT_CALIBRATION_MODE,
          bounds: model ? configuredBounds(model.performance.bounds) : undefined,
          driftOnly: values['drift-only'],
        });
      } catch (error) {
        if (error instanceof AnalyzeError || error instanceof WindowError) {
          io.stderr.write(`mlmon analyze: ${error.message}\n`);
          return EXIT.nothingToAnalyze;
        }
        throw error;
      }
      // The documents are in Elasticsearch; the JSON output carries the analysis itself.
      if (values.format === 'json')
        writeJson(io, { ...result, drift: { ...result.drift, documents: undefined } });
      else printTable(io, result);
      for (const note of result.notes) io.stderr.write(`note: ${note}\n`);
      return EXIT.ok;
    } finally {
      await client.close();
    }
  },
});

/** The model's entry of a scheduler configuration file; a missing file or model is a usage error. */
function modelSettings(path: string, name: string): ModelConfig {
  let config;
  try {
    config = loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  const found = config.models.find((m) => m.name === name);
  if (!found)
    throw new UsageError(
      `${config.source}: no model "${name}" (models: ${config.models.map((m) => m.name).join(', ') || 'none'})`,
    );
  return found;
}

function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '-';
  if (x !== 0 && Math.abs(x) < 1e-3) return x.toExponential(1);
  return x.toFixed(digits);
}

function get(doc: Record<string, unknown>, path: string): unknown {
  let value: unknown = doc;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

function num(doc: Record<string, unknown>, path: string): number | undefined {
  const v = get(doc, path);
  return typeof v === 'number' ? v : undefined;
}

/**
 * Whether the labels bore the estimate out (`performance.estimated.reliable`): said beside the
 * estimate, with the assumption that failed, so nobody reads an unreliable estimate as a figure.
 */
function reliability(model: Record<string, unknown>): string {
  const reliable = get(model, 'performance.estimated.reliable');
  if (reliable === true) return ' (reliable: the labels agree)';
  if (reliable !== false) return '';
  const failed = get(model, 'performance.estimated.failed_assumptions');
  const reasons = get(model, 'performance.estimated.unreliable_reason');
  const why = Array.isArray(failed) && failed.length > 0 ? failed : Array.isArray(reasons) ? reasons : [];
  return ` (UNRELIABLE: the labels contradict it${why.length > 0 ? `: ${why.join(', ')}` : ''})`;
}

/** One line per window: realised and estimated performance, service health. */
function performanceLine(io: CommandIO, w: FullAnalysisResult['windows'][number]): void {
  const model = w.performance.find((d) => get(d, 'performance.scope') === 'model') ?? w.performance[0];
  const service = w.service[0];
  const parts: string[] = [];
  if (model) {
    parts.push(`labelled ${fmt(num(model, 'performance.label_coverage'), 2)}`);
    for (const metric of ['accuracy', 'f1', 'roc_auc', 'rmse', 'mae']) {
      const value = num(model, `performance.${metric}`);
      if (value !== undefined) parts.push(`${metric} ${fmt(value, 3)}`);
    }
    const estimated = num(model, 'performance.estimated.accuracy');
    if (estimated !== undefined) parts.push(`estimated accuracy ${fmt(estimated, 3)}${reliability(model)}`);
    const notEstimated = get(model, 'performance.not_estimated.message');
    if (typeof notEstimated === 'string') parts.push(`no estimate: ${notEstimated}`);
    if (get(model, 'performance.degraded') === true) parts.push('DEGRADED');
  }
  if (service) {
    parts.push(
      `latency p50/p95/p99 ${fmt(num(service, 'service.latency.p50'), 2)}/${fmt(num(service, 'service.latency.p95'), 2)}/${fmt(num(service, 'service.latency.p99'), 2)} ms, ${fmt(num(service, 'service.throughput'), 3)}/min, errors ${fmt(num(service, 'service.error_rate'), 3)}`,
    );
  }
  if (parts.length > 0) io.stdout.write(`  performance: ${parts.join(', ')}\n`);
}

function printTable(io: CommandIO, full: FullAnalysisResult): void {
  const result = full.drift;
  if (full.join) {
    io.stdout.write(
      `joined outcomes: ${full.join.created} new, ${full.join.updated} updated evaluation documents; ${full.join.pending} outcomes wait for their prediction\n`,
    );
  }
  for (const v of result.versions) {
    io.stdout.write(
      `model ${result.model} version ${v.version} (namespace ${result.namespace}); reference ${v.reference.type} ${v.reference.id}, ${v.reference.count} rows\n`,
    );
    for (const w of v.windows) {
      io.stdout.write(
        `\n${w.start} → ${w.end}  ${w.count} predictions${w.sample ? ` (sampled p=${fmt(w.sample.probability)}, KS error ≤ ${fmt(w.sample.ks_error_95)} at 95 %)` : ''}; drifted ${w.summary.drifted}/${w.summary.features} features (share ${fmt(w.summary.drift_share, 2)})${w.summary.drifted_features.length ? `: ${w.summary.drifted_features.join(', ')}` : ''}\n`,
      );
      for (const note of w.notes ?? []) io.stdout.write(`  note: ${note}\n`);
      const imp = w.summary.importance;
      if (imp) {
        const top = imp.ranking
          .slice(0, 10)
          .map(
            (r) =>
              `${r.feature}${r.detected ? ' (drifted)' : ''} importance ${fmt(r.importance, 3)} × psi ${fmt(r.psi)} = ${fmt(r.weighted_psi)}`,
          );
        io.stdout.write(
          `  importance-weighted drift share ${fmt(imp.weighted_drift_share, 3)} (mean |explanation| in the reference); by importance × PSI: ${top.join('; ')}\n`,
        );
      }
      const perf = full.windows.find((p) => p.version === v.version && p.start === w.start);
      if (perf) performanceLine(io, perf);
      if (w.count === 0) {
        io.stdout.write('  no predictions in this window\n');
        continue;
      }
      const header = [
        'field',
        'kind',
        'method',
        'score',
        'threshold',
        'drift',
        'psi',
        'missing',
        'out/unseen',
        'concept Δr',
      ];
      const rows = w.fields.map((f) => [
        f.name,
        f.kind,
        f.drift?.method ?? '-',
        fmt(f.drift?.score),
        fmt(f.drift?.threshold, 2),
        f.drift ? (f.drift.detected ? `YES (${f.drift.severity})` : 'no') : (f.note ?? '-'),
        fmt(f.drift?.psi),
        fmt(f.quality.missing_rate, 3),
        fmt(f.quality.out_of_range_rate ?? f.quality.unseen_category_rate, 3),
        f.concept ? `${fmt(f.concept.change, 2)}${f.concept.detected ? ' !' : ''}` : '-',
      ]);
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
      const line = (cells: string[]): string =>
        `  ${cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')}\n`;
      io.stdout.write(line(header));
      for (const r of rows) io.stdout.write(line(r));
      for (const f of w.fields)
        if (f.new_categories && f.new_categories.length > 0)
          io.stdout.write(`  new categories in ${f.name}: ${f.new_categories.join(', ')}\n`);
    }
  }
  // Versions without a reference have no drift table; their performance and service lines still show.
  for (const w of full.windows) {
    if (result.versions.some((v) => v.version === w.version)) continue;
    io.stdout.write(
      `\nmodel ${result.model} version ${w.version}: ${w.start} → ${w.end} (no drift reference)\n`,
    );
    performanceLine(io, w);
  }
  for (const c of full.comparisons)
    for (const o of c.outcomes) io.stdout.write(`\n${c.start} → ${c.end}  ${comparisonSentence(o)}\n`);
  if (result.written)
    io.stdout.write(
      `\nwrote ${result.written.created} new, ${result.written.overwritten} replaced and ${result.written.unchanged} unchanged result documents\n`,
    );
}
