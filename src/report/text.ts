/** The plain-text alternative of the report e-mail: the same content as the HTML, without charts. */
import { day, num, pct } from './html.js';
import { meanMetrics } from './verdict.js';
import { comparisonSentence } from './comparison.js';
import type { ReportData } from './types.js';
import { volumeSentences } from './volume.js';

/** Control characters (other than newline and tab) removed from production strings. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ');
}

export function renderText(report: ReportData): string {
  const lines: string[] = [];
  lines.push(clean(report.title));
  lines.push(`${day(report.period.start)} – ${day(report.period.end)}, namespace ${report.namespace}`);
  for (const { data, verdict, changes } of report.models) {
    lines.push('', `== Model ${clean(data.model)} ==`);
    lines.push(`${verdict.status.toUpperCase()}: ${clean(verdict.sentence)}`);
    for (const s of volumeSentences(data.daily)) lines.push(s);
    if (verdict.status !== 'no-data') {
      lines.push('', 'Drift by feature (windows with drift, worst score / threshold):');
      if (data.features.length === 0) lines.push('  no drift results in this period');
      data.features.forEach((f, i) =>
        lines.push(
          `  ${i + 1}. ${clean(f.feature)} (v${clean(f.version)}, ${f.kind}): ${f.drifted}/${f.windows} windows, ${f.method} ${num(f.worstScore, 4)} / ${num(f.worstThreshold, 4)}${f.driftBegan === null ? '' : `, drift began ${day(new Date(f.driftBegan))}`}`,
        ),
      );
      lines.push('', 'Performance (mean over the windows):');
      const metrics = Object.entries(meanMetrics(data.performance));
      if (metrics.length === 0) lines.push('  no performance results in this period');
      for (const [m, v] of metrics) lines.push(`  ${m}: ${num(v, 4)}`);
      lines.push('', 'Data quality (missing / out of range / unseen categories / type mismatch):');
      if (data.quality.length === 0) lines.push('  no data quality results in this period');
      for (const q of data.quality)
        lines.push(
          `  ${clean(q.feature)}: ${pct(q.missingRate)} / ${pct(q.outOfRangeRate)} / ${pct(q.unseenCategoryRate)} / ${pct(q.typeMismatchRate)}${q.worstSeverity ? ` (worst window: ${q.worstSeverity})` : ''}`,
        );
      const s = data.serviceSummary;
      lines.push('', 'Service health:');
      if (data.service.length === 0) lines.push('  no service health results in this period');
      else
        lines.push(
          `  predictions ${s.predictions}, errors ${s.errors} (${pct(s.errorRate, 2)}), worst p95 ${num(s.maxP95, 2)} ms, worst p99 ${num(s.maxP99, 2)} ms`,
        );
    }
    if (data.comparisons && data.comparisons.length > 0) {
      lines.push('', 'A/B comparison (per window where two versions were live):');
      for (const c of data.comparisons)
        lines.push(`  ${c.windowStart ?? ''} ${clean(comparisonSentence(c))}`);
    }
    lines.push('', 'What changed since the previous period:');
    if (changes.length === 0) lines.push('  nothing notable');
    for (const c of changes) lines.push(`  - ${clean(c.text)}`);
    for (const n of data.notes) lines.push(`  note: ${clean(n)}`);
  }
  lines.push('', 'Charts are in the HTML part of this message; the drift results are attached as CSV.');
  return `${lines.join('\n')}\n`;
}
