/**
 * The report as one self-contained HTML document: inline CSS, images embedded (data URIs in the
 * file, `cid:` references in the e-mail), no script, no external resource, so it opens offline and
 * in mail clients alike.
 *
 * Escaping: every interpolation goes through the `html` tagged template, which escapes with
 * `escape-html` (express's escaper: & < > " ') unless the value is markup this module built itself
 * (`Markup`). Production strings (model, feature, category and label names) are never marked up by
 * hand. A Content-Security-Policy without script sources is a second line of defence.
 *
 * Length: section() is over 100 lines on purpose: it is one HTML template of a model's section,
 * read top to bottom as the page shows it.
 */
import escapeHtml from 'escape-html';
import type { Chart } from './charts.js';
import { meanMetrics } from './verdict.js';
import { comparisonSentence } from './comparison.js';
import type { ModelReport, ReportData } from './types.js';
import { volumeSentences } from './volume.js';

/** Markup built by this module: inserted as is by `html`. */
class Markup {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = string | number | null | undefined | Markup | Part[];

function piece(v: Part): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Markup) return v.value;
  if (Array.isArray(v)) return v.map(piece).join('');
  return escapeHtml(String(v));
}

/** Tagged template: escapes every interpolated value that is not Markup. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Markup {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += piece(v) + (strings[i + 1] ?? '');
  });
  return new Markup(out);
}

export const num = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : Number(x.toFixed(digits)).toString();
export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)} %`;
export const day = (d: Date): string =>
  d
    .toISOString()
    .replace('T', ' ')
    .replace(/:00\.000Z$/, ' UTC')
    .replace(/\.\d{3}Z$/, ' UTC');

const STATUS_COLOUR: Record<string, string> = {
  healthy: '#1a7f37',
  drifting: '#b35900',
  degraded: '#b3261e',
  'no-data': '#555555',
};

const STYLE = `
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#1f2328;max-width:900px;margin:24px auto;padding:0 16px;line-height:1.4}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.muted{color:#59636e;font-size:13px}
.verdict{font-size:16px;padding:10px 12px;border-left:6px solid;background:#f6f8fa;margin:8px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}.yes{color:#b3261e;font-weight:bold}
img{max-width:100%;height:auto;display:block;margin:6px 0}ul{margin:4px 0}`;

export interface HtmlOptions {
  /** Where an image comes from: a data URI (HTML file) or `cid:<id>` (e-mail). */
  imageSource: (chart: Chart) => string;
}

function image(chart: Chart | undefined, options: HtmlOptions): Markup {
  if (!chart) return html``;
  const cssWidth = Math.round(chart.width / 1.5);
  return html`<img
    src="${options.imageSource(chart)}"
    alt="${chart.alt}"
    width="${cssWidth}"
    data-chart="${chart.id}"
  />`;
}

function section(report: ModelReport, charts: Chart[], index: number, options: HtmlOptions): Markup {
  const { data, verdict, changes } = report;
  const chart = (id: string) => charts.find((c) => c.id === `m${index}-${id}`);
  const noData = verdict.status === 'no-data';
  const colour = STATUS_COLOUR[verdict.status] ?? '#555555';
  const inputs = data.features;
  const metrics = meanMetrics(data.performance);
  const perfRows = data.performance;
  return html` <section class="model" data-model-index="${index}">
    <h2>Model ${data.model}</h2>
    <p class="muted">
      namespace ${data.namespace}; versions ${data.versions.length ? data.versions.join(', ') : '–'};
      ${data.predictionsLogged} predictions logged in the period
    </p>
    <p class="verdict" style="border-color:${colour}" data-status="${verdict.status}">
      <strong>${verdict.status.toUpperCase()}</strong> — ${verdict.sentence}
    </p>
    ${volumeSentences(data.daily).map((s) => html`<p data-volume>⚠ ${s}</p>`)}
    ${verdict.reasons
      .filter((r) => r.startsWith('label-free estimate'))
      .map((r) => html`<p class="muted" data-estimate-reliability>⚠ ${r}.</p>`)}
    ${
      noData
        ? html`<p>This period has no data to report on for this model.</p>`
        : html` <h3>Drift by feature</h3>
            ${
              inputs.length === 0
                ? html`<p>No drift results in this period.</p>`
                : html`${image(chart('drift'), options)}
                    <table class="drift">
                      <thead>
                        <tr>
                          <th>#</th>
                          <th>feature</th>
                          <th>version</th>
                          <th>kind</th>
                          <th>method</th>
                          <th>windows with drift</th>
                          <th>worst score</th>
                          <th>threshold</th>
                          <th>latest</th>
                          <th>drift began</th>
                          <th>mean PSI</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${inputs.map(
                          (f, i) =>
                            html`<tr>
                              <td class="n">${i + 1}</td>
                              <td>${f.feature}</td>
                              <td>${f.version}</td>
                              <td>${f.kind}</td>
                              <td>${f.method}</td>
                              <td
                                class="n${f.drifted > 0 ? ' yes' : ''}"
                                data-drifted="${f.drifted}"
                                data-windows="${f.windows}"
                              >
                                ${f.drifted}/${f.windows}
                              </td>
                              <td class="n">${num(f.worstScore, 4)}</td>
                              <td class="n">${num(f.worstThreshold, 4)}</td>
                              <td>${f.latestDetected ? 'drift' : 'no drift'}</td>
                              <td>${f.driftBegan === null ? '–' : day(new Date(f.driftBegan))}</td>
                              <td class="n">${num(f.meanPsi, 4)}</td>
                            </tr> `,
                        )}
                      </tbody>
                    </table>`
            }
            ${data.distributions.map(
              (d, n) =>
                html`<h3>${d.feature}: reference vs this period</h3>
                  ${image(chart(`dist-${n}`), options)}`,
            )}
            <h3>Performance</h3>
            ${
              perfRows.length === 0
                ? html`<p>No performance results in this period.</p>`
                : html`${image(chart('performance'), options)}
                    <table class="performance">
                      <thead>
                        <tr>
                          <th>metric</th>
                          <th>mean over ${perfRows.length} windows</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${Object.entries(metrics).map(
                          ([m, v]) =>
                            html`<tr>
                              <td>${m}</td>
                              <td class="n" data-metric="${m}">${num(v, 4)}</td>
                            </tr>`,
                        )}
                        <tr>
                          <td>label coverage</td>
                          <td class="n">
                            ${pct(perfRows.reduce((s, p) => s + (p.labelCoverage ?? 0), 0) / perfRows.length)}
                          </td>
                        </tr>
                        <tr>
                          <td>windows out of bounds</td>
                          <td class="n">${perfRows.filter((p) => p.degraded === true).length}</td>
                        </tr>
                      </tbody>
                    </table>`
            }
            <h3>Data quality</h3>
            ${
              data.quality.length === 0
                ? html`<p>No data quality results in this period.</p>`
                : html`<table class="quality">
                    <thead>
                      <tr>
                        <th>feature</th>
                        <th>missing</th>
                        <th>out of range</th>
                        <th>unseen categories</th>
                        <th>type mismatch</th>
                        <th>new categories</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${data.quality.map(
                        (q) =>
                          html`<tr>
                            <td>${q.feature}${q.unexpected ? ' (not in the reference)' : ''}</td>
                            <td class="n">${pct(q.missingRate)}</td>
                            <td class="n">${pct(q.outOfRangeRate)}</td>
                            <td class="n">${pct(q.unseenCategoryRate)}</td>
                            <td class="n">${pct(q.typeMismatchRate)}</td>
                            <td>${q.newCategories.slice(0, 10).join(', ')}</td>
                          </tr> `,
                      )}
                    </tbody>
                  </table>`
            }
            <h3>Service health</h3>
            ${
              data.service.length === 0
                ? html`<p>No service health results in this period.</p>`
                : html`${image(chart('latency'), options)}
                    <table class="service">
                      <tbody>
                        <tr>
                          <th>predictions</th>
                          <td class="n" data-service="predictions">${data.serviceSummary.predictions}</td>
                        </tr>
                        <tr>
                          <th>errors</th>
                          <td class="n" data-service="errors">${data.serviceSummary.errors}</td>
                        </tr>
                        <tr>
                          <th>error rate</th>
                          <td class="n">${pct(data.serviceSummary.errorRate, 2)}</td>
                        </tr>
                        <tr>
                          <th>worst p95 latency</th>
                          <td class="n" data-service="max-p95">${num(data.serviceSummary.maxP95, 2)} ms</td>
                        </tr>
                        <tr>
                          <th>worst p99 latency</th>
                          <td class="n">${num(data.serviceSummary.maxP99, 2)} ms</td>
                        </tr>
                      </tbody>
                    </table>`
            }`
    }
    ${
      data.comparisons && data.comparisons.length > 0
        ? html`<h3>A/B comparison</h3>
            <ul data-section="comparison">
              ${data.comparisons.map((c) => html`<li>${c.windowStart ?? ''} ${comparisonSentence(c)}</li>`)}
            </ul>`
        : html``
    }
    <h3>What changed since the previous period</h3>
    ${
      changes.length === 0
        ? html`<p>Nothing notable changed.</p>`
        : html`<ul>
            ${changes.map((c) => html`<li>${c.text}</li>`)}
          </ul>`
    }
    ${data.notes.length ? html`<p class="muted">${data.notes.join(' ')}</p>` : html``}
  </section>`;
}

/** The whole report as one HTML document. */
export function renderHtml(report: ReportData, charts: Chart[], options: HtmlOptions): string {
  const doc = html`<!DOCTYPE html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta
          http-equiv="Content-Security-Policy"
          content="default-src 'none'; img-src data: cid:; style-src 'unsafe-inline'"
        />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${report.title}</title>
        <style>
          ${new Markup(STYLE)}
        </style>
      </head>
      <body>
        <h1>${report.title}</h1>
        <p class="muted">
          ${day(report.period.start)} – ${day(report.period.end)} · namespace ${report.namespace} · generated
          ${day(report.generatedAt)} by mlmon
        </p>
        ${
          report.models.length > 1
            ? html`<ul>
                ${report.models.map((m) => html`<li><strong>${m.data.model}</strong>: ${m.verdict.sentence}</li>`)}
              </ul>`
            : html``
        }
        ${report.models.map((m, i) => section(m, charts, i, options))}
      </body>
    </html> `;
  return doc.value;
}

/** Data URI of a chart, for the self-contained HTML file. */
export function dataUri(chart: Chart): string {
  return `data:image/png;base64,${chart.png.toString('base64')}`;
}
