import { parseArgs } from 'node:util';
import { checkConnection, createClient } from '../../elastic/client.js';
import { installTemplates } from '../../elastic/templates.js';
import { AnalyzeError, type ReferenceSpec } from '../../analyzer/job.js';
import type { PerformanceTask } from '../../analyzer/performance.js';
import { runFullAnalysis, type FullAnalysisResult } from '../../analyzer/run.js';
import { parseDuration, parseTime, WindowError } from '../../analyzer/windows.js';
import { DEFAULT_BASELINE_ID } from '../../profiles/store.js';
import { type CommandIO, UsageError, writeJson } from '../io.js';

const HELP = `Usage: mlmon analyze --model M [--version V] [--namespace N] --from T --to T --window 1h
                     [--baseline ID | --reference-from T --reference-to T]
                     [--align-to T] [--sample-above N] [--dry-run] [--format table|json]
                     [--task binary|multiclass|regression] [--positive-class C] [--threshold X]
                     [--segments a,b] [--drift-only]

Cuts [--from, --to) into windows of --window (aligned to multiples of the size from the Unix epoch,
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

  --baseline ID            stored baseline id (default: ${DEFAULT_BASELINE_ID}), see mlmon baseline
  --reference-from/-to T   profile this time window of the same model version as the reference
  --window D               window size: 15m, 1h, 1d, 1w
  --sample-above N         sample windows with more than N documents (random_sampler) down to about N
  --dry-run                compute and print, write nothing
  --task T                 performance task (default: detected: value → regression, score → binary,
                           label → multiclass)
  --positive-class C       positive class of a binary model (default 1); --threshold X (default 0.5)
  --segments a,b           labels.* names for per-segment performance and fairness
  --drift-only             drift and quality only
  --format json            machine-readable results per window and field, with the summary
Times: ISO 8601 (2024-05-01T00:00:00Z), now, now-1d.
`;

export async function analyzeCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      version: { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      from: { type: 'string' },
      to: { type: 'string' },
      window: { type: 'string' },
      baseline: { type: 'string' },
      'reference-from': { type: 'string' },
      'reference-to': { type: 'string' },
      'align-to': { type: 'string' },
      'sample-above': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      task: { type: 'string' },
      'positive-class': { type: 'string' },
      threshold: { type: 'string' },
      segments: { type: 'string' },
      'drift-only': { type: 'boolean', default: false },
      format: { type: 'string', default: 'table' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (values.format !== 'table' && values.format !== 'json')
    throw new UsageError('--format must be table or json');
  if (!values.model) throw new UsageError('--model is required');
  if (!values.from || !values.to) throw new UsageError('--from and --to are required');
  if (!values.window) throw new UsageError('--window is required (e.g. 1h)');
  const hasRefWindow = values['reference-from'] !== undefined || values['reference-to'] !== undefined;
  if (hasRefWindow && values.baseline !== undefined)
    throw new UsageError('give --baseline or --reference-from/--reference-to, not both');
  let reference: ReferenceSpec;
  let from: Date;
  let to: Date;
  let windowMs: number;
  let anchor: Date | undefined;
  try {
    from = parseTime(values.from);
    to = parseTime(values.to);
    windowMs = parseDuration(values.window);
    if (values['align-to']) anchor = parseTime(values['align-to']);
    if (hasRefWindow) {
      if (!values['reference-from'] || !values['reference-to'])
        throw new UsageError('--reference-from and --reference-to go together');
      const rf = parseTime(values['reference-from']);
      const rt = parseTime(values['reference-to']);
      if (!(rt > rf)) throw new UsageError('--reference-to must be after --reference-from');
      reference = { type: 'window', from: rf, to: rt };
    } else reference = { type: 'baseline', id: values.baseline ?? DEFAULT_BASELINE_ID };
  } catch (error) {
    if (error instanceof WindowError) throw new UsageError(error.message);
    throw error;
  }
  if (!(to > from)) throw new UsageError('--to must be after --from');
  const sampleAbove = values['sample-above'] !== undefined ? Number(values['sample-above']) : undefined;
  if (sampleAbove !== undefined && !(Number.isInteger(sampleAbove) && sampleAbove > 0)) {
    throw new UsageError('--sample-above must be a positive integer');
  }
  const task = values.task as PerformanceTask | undefined;
  if (task !== undefined && !['binary', 'multiclass', 'regression'].includes(task))
    throw new UsageError('--task must be binary, multiclass or regression');
  const threshold = values.threshold !== undefined ? Number(values.threshold) : undefined;
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 1))
    throw new UsageError('--threshold must be a number in [0, 1]');
  const client = createClient();
  try {
    await checkConnection(client);
    if (!values['dry-run']) await installTemplates(client);
    let result: FullAnalysisResult;
    try {
      result = await runFullAnalysis(client, {
        namespace: values.namespace,
        model: values.model,
        version: values.version,
        from,
        to,
        windowMs,
        windowSize: values.window,
        anchor,
        reference,
        write: !values['dry-run'],
        sampleAbove,
        task,
        positiveClass: values['positive-class'],
        threshold,
        segments: values.segments?.split(',').filter(Boolean),
        driftOnly: values['drift-only'],
      });
    } catch (error) {
      if (error instanceof AnalyzeError || error instanceof WindowError) {
        io.stderr.write(`mlmon analyze: ${error.message}\n`);
        return 3;
      }
      throw error;
    }
    // The documents are in Elasticsearch; the JSON output carries the analysis itself.
    if (values.format === 'json')
      writeJson(io, { ...result, drift: { ...result.drift, documents: undefined } });
    else printTable(io, result);
    for (const note of result.notes) io.stderr.write(`note: ${note}\n`);
    return 0;
  } finally {
    await client.close();
  }
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
    if (estimated !== undefined) parts.push(`estimated accuracy ${fmt(estimated, 3)}`);
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
  if (result.written)
    io.stdout.write(
      `\nwrote ${result.written.created} new, ${result.written.overwritten} replaced and ${result.written.unchanged} unchanged result documents\n`,
    );
}
