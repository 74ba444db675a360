/**
 * Report rendering benchmark: `npm run bench:report` (no Elasticsearch needed).
 *
 * Renders the report of one model with 50 numeric features over 30 days of hourly windows (720
 * windows: 36,000 drift and 36,000 quality result rows, 720 performance and 720 service points,
 * 3 reference-vs-current distributions) from typed data, as gather.ts would hand it over: the period
 * summaries (ranking, quality rates, service totals), verdict and changes, the charts (Vega-Lite →
 * SVG → PNG), the HTML file, the CSV and the whole MIME message as nodemailer builds it. The
 * baseline, run in the same process, is the same for 1 day (24 windows). Reading the result
 * documents from Elasticsearch is not part of it.
 *
 * BENCH_RUNS (default 3) rounds; each round renders the baseline, then the 30-day report.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { seededRandom } from '../test/helpers/random.js';
import { assembleReport, buildMessage, driftCsv, renderCharts, reportHtmlFile } from '../src/report/index.js';
import {
  summarizeDrift,
  summarizeQuality,
  summarizeService,
  type QualityRow,
} from '../src/report/summary.js';
import type { DriftRow, ModelPeriodData, PerformancePoint, ServicePoint } from '../src/report/types.js';

const HOUR = 3_600_000;
const FEATURES = 50;
const START = Date.parse('2026-01-01T00:00:00Z');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Result rows of `windows` hourly windows, drift rising in the last third for a few features. */
function rows(windows: number, offset: number) {
  const random = seededRandom(7 + offset);
  const drift: DriftRow[] = [];
  const quality: QualityRow[] = [];
  const performance: PerformancePoint[] = [];
  const service: ServicePoint[] = [];
  for (let w = 0; w < windows; w++) {
    const windowStart = new Date(START + (offset + w) * HOUR).toISOString();
    const windowEnd = new Date(START + (offset + w + 1) * HOUR).toISOString();
    for (let f = 0; f < FEATURES; f++) {
      const drifting = f < 5 && w > (2 * windows) / 3;
      const score = drifting ? 0.1 + random() * 0.3 : random() * 0.08;
      drift.push({
        version: '1',
        feature: `feature_${f}`,
        kind: 'numeric',
        windowStart,
        windowEnd,
        windowCount: 1000,
        method: 'wasserstein',
        score,
        threshold: 0.1,
        detected: score >= 0.1,
        severity: score >= 0.1 ? 'medium' : 'none',
        psi: score * 0.8,
        referenceId: 'default',
        referenceType: 'baseline',
      });
      quality.push({
        version: '1',
        feature: `feature_${f}`,
        windowCount: 1000,
        missingRate: random() * 0.01,
        outOfRangeRate: random() * 0.02,
        unseenCategoryRate: null,
        typeMismatchRate: 0,
        unexpected: false,
        newCategories: [],
      });
    }
    performance.push({
      version: '1',
      windowStart,
      windowEnd,
      task: 'binary',
      count: 800,
      labelCoverage: 0.8,
      realised: { accuracy: 0.85 + random() * 0.05, f1: 0.8 + random() * 0.05, roc_auc: 0.9 },
      estimated: { accuracy: 0.86 + random() * 0.03 },
      degraded: false,
      degradedMetrics: [],
      estimatedDegraded: false,
    });
    service.push({
      version: '1',
      windowStart,
      windowEnd,
      count: 1000,
      errors: Math.floor(random() * 5),
      errorRate: null,
      throughput: 1000 / 60,
      p50: 3 + random(),
      p95: 8 + random() * 2,
      p99: 12 + random() * 4,
    });
  }
  return { drift, quality, performance, service };
}

function periodData(windows: number, offset: number): ModelPeriodData {
  const r = rows(windows, offset);
  const bins = ['(−∞, -1.28)', ...Array.from({ length: 8 }, (_, i) => `[${i}, ${i + 1})`), '[8, +∞)'];
  return {
    model: 'fraud',
    namespace: 'bench',
    period: { start: new Date(START + offset * HOUR), end: new Date(START + (offset + windows) * HOUR) },
    versions: ['1'],
    predictionsLogged: windows * 1000,
    drift: r.drift,
    features: summarizeDrift(r.drift),
    driftShare: [],
    quality: summarizeQuality(r.quality),
    performance: r.performance,
    service: r.service,
    serviceSummary: summarizeService(r.service),
    distributions: [0, 1, 2].map((f) => ({
      version: '1',
      feature: `feature_${f}`,
      kind: 'numeric' as const,
      bins,
      reference: bins.map(() => 0.1),
      current: bins.map((_, i) => (i === 9 ? 0.28 : 0.08)),
      referenceCount: 100_000,
      currentCount: windows * 1000,
      referenceType: 'baseline',
      windows,
    })),
    bounds: { accuracy: { min: 0.8 } },
    notes: [],
  };
}

/** Everything from rows to the MIME message; returns the sizes produced. */
async function render(windows: number) {
  const current = periodData(windows, windows);
  const previous = periodData(windows, 0);
  const report = assembleReport([{ current, previous }], {
    namespace: 'bench',
    period: current.period,
    title: 'mlmon report: fraud',
    generatedAt: new Date(),
  });
  const charts = await renderCharts(report);
  const html = reportHtmlFile(report, charts);
  const csv = driftCsv(report);
  const message = buildMessage(report, charts, { from: 'mlmon@example.com', to: ['team@example.com'] });
  const mime = await new MailComposer(message).compile().build();
  return { charts: charts.length, html: html.length, csv: csv.length, mime: mime.length };
}

/** Wall time, and CPU time of this process (user + system): on a shared machine the CPU time is the steadier figure. */
async function timed(
  windows: number,
): Promise<{ ms: number; cpuMs: number; sizes: Awaited<ReturnType<typeof render>> }> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const sizes = await render(windows);
  const cpu = process.cpuUsage(cpu0);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000, sizes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(
  `machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
await timed(24); // warm-up: module loading, font loading, JIT
const day: number[] = [];
const month: number[] = [];
const dayCpu: number[] = [];
const monthCpu: number[] = [];
let sizes: Awaited<ReturnType<typeof render>> | undefined;
for (let i = 0; i < RUNS; i++) {
  const d = await timed(24);
  day.push(d.ms);
  dayCpu.push(d.cpuMs);
  const m = await timed(720);
  month.push(m.ms);
  monthCpu.push(m.cpuMs);
  sizes = m.sizes;
}
console.log(
  `1-day report (24 windows × ${FEATURES} features), baseline: median ${median(day).toFixed(0)} ms of ${day.map((x) => x.toFixed(0)).join(', ')}`,
);
console.log(
  `30-day report (720 windows × ${FEATURES} features): median ${median(month).toFixed(0)} ms of ${month
    .map((x) => x.toFixed(0))
    .join(', ')}; ${(median(month) / median(day)).toFixed(2)}× the baseline`,
);
console.log(
  `CPU time (user + system): 1-day median ${median(dayCpu).toFixed(0)} ms, 30-day median ${median(monthCpu).toFixed(0)} ms of ${monthCpu
    .map((x) => x.toFixed(0))
    .join(', ')}; ${(median(monthCpu) / median(dayCpu)).toFixed(2)}× the baseline`,
);
console.log(
  `30-day output: ${sizes?.charts} charts, HTML ${((sizes?.html ?? 0) / 1024).toFixed(0)} KiB, CSV ${((sizes?.csv ?? 0) / 1024).toFixed(0)} KiB, MIME message ${((sizes?.mime ?? 0) / 1024).toFixed(0)} KiB; load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
