/**
 * The pure parts of reports: verdict, what changed, escaping, headers, CSV cells, the `reports:`
 * configuration block and the command line. Expected values are worked out by hand in comments.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../src/cli/command.js';
import { reportArguments, reportOptions } from '../../src/cli/commands/report.js';
import { UsageError } from '../../src/cli/io.js';
import { assembleReport, driftCsv, renderHtml, reportSubject, renderText } from '../../src/report/index.js';
import { headerSafe } from '../../src/report/email.js';
import { html } from '../../src/report/html.js';
import { summarizeDrift, summarizeService } from '../../src/report/summary.js';
import type { DriftRow, ModelPeriodData, PerformancePoint } from '../../src/report/types.js';
import { changesSince, verdictOf } from '../../src/report/verdict.js';
import { ConfigError, validateConfig } from '../../src/schema/config.js';
import { reportSchedules } from '../../src/scheduler/reports.js';

const period = { start: new Date('2026-03-02T00:00:00Z'), end: new Date('2026-03-03T00:00:00Z') };

function drift(feature: string, windowStart: string, detected: boolean, score: number): DriftRow {
  return {
    version: '1',
    feature,
    kind: 'numeric',
    windowStart,
    windowEnd: windowStart,
    windowCount: 100,
    method: 'wasserstein',
    score,
    threshold: 0.1,
    detected,
    severity: detected ? 'medium' : 'none',
    psi: score,
    referenceId: 'default',
    referenceType: 'baseline',
  };
}

function perf(windowStart: string, accuracy: number, degraded: boolean | null): PerformancePoint {
  return {
    version: '1',
    windowStart,
    windowEnd: windowStart,
    task: 'binary',
    count: 100,
    labelCoverage: 1,
    realised: { accuracy },
    estimated: {},
    degraded,
    degradedMetrics: degraded ? ['accuracy'] : [],
    estimatedDegraded: null,
  };
}

function data(over: Partial<ModelPeriodData> = {}): ModelPeriodData {
  const rows = over.drift ?? [];
  return {
    model: 'fraud',
    namespace: 'default',
    period,
    versions: ['1'],
    predictionsLogged: 200,
    drift: rows,
    features: summarizeDrift(rows),
    driftShare: [],
    quality: [],
    performance: [],
    service: [],
    serviceSummary: summarizeService([]),
    distributions: [],
    bounds: {},
    notes: [],
    ...over,
  };
}

const W1 = '2026-03-02T00:00:00.000Z';
const W2 = '2026-03-02T12:00:00.000Z';

describe('verdict', () => {
  it('no results is no-data, never healthy, and says whether predictions were logged', () => {
    const v = verdictOf(data());
    expect(v.status).toBe('no-data');
    expect(v.sentence).toBe(
      'No data for fraud: 200 predictions were logged but no analysis results exist for this period (is the scheduler running?).',
    );
    expect(verdictOf(data({ predictionsLogged: 0 })).sentence).toBe(
      'No data for fraud: no predictions and no analysis results in this period.',
    );
  });

  it('names the failed assumption of a contradicted estimate, in the reasons and the HTML, not in the status', () => {
    // two windows judged against their labels, one contradicted by a prior shift
    const judged = { ...perf(W1, 0.9, false), estimatedReliable: true, estimatedFailedAssumptions: [] };
    const failed = {
      ...perf(W2, 0.7, false),
      estimatedReliable: false,
      estimatedFailedAssumptions: ['prior_shift'],
    };
    const v = verdictOf(data({ performance: [judged, failed] }));
    expect(v.status).toBe('healthy');
    expect(v.reasons).toContain(
      'label-free estimate contradicted by the labels in 1 of 2 windows: the class balance moved (prior shift)',
    );
    const report = assembleReport([{ current: data({ performance: [judged, failed] }) }], {
      namespace: 'default',
      period,
      title: 'mlmon report',
      generatedAt: new Date('2026-03-03T01:00:00Z'),
    });
    const page = renderHtml(report, [], { imageSource: () => '' });
    expect(page).toContain('label-free estimate contradicted by the labels in 1 of 2 windows');
  });

  it('healthy, drifting and degraded, with the reasons', () => {
    const calm = [drift('amount', W1, false, 0.02), drift('amount', W2, false, 0.03)];
    expect(verdictOf(data({ drift: calm, performance: [perf(W1, 0.9, false)] })).status).toBe('healthy');
    const shifted = [...calm, drift('country', W1, false, 0.05), drift('country', W2, true, 0.4)];
    const v = verdictOf(data({ drift: shifted }));
    expect(v.status).toBe('drifting');
    // 1 of the 2 input features drifted, in 1 of its 2 windows.
    expect(v.sentence).toBe('fraud is drifting: 1 of 2 features drifted: country (1/2 windows).');
    const d = verdictOf(data({ drift: shifted, performance: [perf(W1, 0.9, false), perf(W2, 0.6, true)] }));
    expect(d.status).toBe('degraded');
    expect(d.sentence).toBe(
      'fraud is degraded: performance out of bounds in 1 of 2 windows (accuracy); 1 of 2 features drifted: country (1/2 windows).',
    );
  });

  it('ranks features by share of windows with drift, then by score over threshold', () => {
    const rows = [
      drift('a', W1, true, 0.2),
      drift('a', W2, false, 0.05),
      drift('b', W1, true, 0.5),
      drift('b', W2, false, 0.05),
      drift('c', W1, true, 0.15),
      drift('c', W2, true, 0.15),
    ];
    // c: 2/2; then a and b 1/2 each, b's worst 0.5/0.1 = 5 above a's 0.2/0.1 = 2.
    expect(summarizeDrift(rows).map((f) => [f.feature, f.drifted, f.windows, f.worstScore])).toEqual([
      ['c', 2, 2, 0.15],
      ['b', 1, 2, 0.5],
      ['a', 1, 2, 0.2],
    ]);
  });
});

describe('drift began', () => {
  it('names the first window of the latest run of drifted windows, per feature', () => {
    const W3 = '2026-03-03T00:00:00.000Z';
    const W4 = '2026-03-03T12:00:00.000Z';
    const rows = [
      // a: drifted, recovered, then drifting again from W3 on: the latest run began at W3.
      drift('a', W1, true, 0.3),
      drift('a', W2, false, 0.01),
      drift('a', W3, true, 0.3),
      drift('a', W4, true, 0.3),
      // b: drifted in W2 only: that run began at W2 (over, but the date is still named).
      drift('b', W1, false, 0.01),
      drift('b', W2, true, 0.3),
      drift('b', W3, false, 0.01),
      // c: never drifted: no date.
      drift('c', W1, false, 0.01),
    ];
    const began = Object.fromEntries(summarizeDrift(rows).map((f) => [f.feature, f.driftBegan]));
    expect(began).toEqual({ a: W3, b: W2, c: null });
    const report = assembleReport([{ current: data({ drift: rows }) }], {
      namespace: 'default',
      period,
      title: 'mlmon report',
      generatedAt: new Date('2026-03-04T01:00:00Z'),
    });
    // html.ts's day(): the ISO instant without seconds, in UTC.
    expect(renderText(report)).toMatch(
      /a \(v1, numeric\): 3\/4 windows, .*, drift began 2026-03-03 00:00 UTC\n/,
    );
    expect(renderHtml(report, [], { imageSource: () => '' })).toContain('<td>2026-03-02 12:00 UTC</td>');
  });
});

describe('what changed', () => {
  it('features that started and stopped drifting, and the mean metric', () => {
    const before = data({
      drift: [drift('a', W1, true, 0.3), drift('b', W1, false, 0.01)],
      performance: [perf(W1, 0.9, false), perf(W2, 0.8, false)],
    });
    const after = data({
      drift: [drift('a', W1, false, 0.01), drift('b', W1, true, 0.3)],
      performance: [perf(W1, 0.7, false)],
    });
    const changes = changesSince(after, before);
    // accuracy: mean 0.85 before, 0.7 now: −0.15.
    expect(changes.map((c) => c.text)).toEqual([
      'b started drifting.',
      'a no longer drifts.',
      'accuracy: 0.850 → 0.700 (-0.150).',
    ]);
    expect(changesSince(after, data()).map((c) => c.kind)).toEqual(['new-data']);
    expect(changesSince(data(), before).map((c) => c.kind)).toEqual(['no-data']);
  });
});

describe('escaping and headers', () => {
  const hostile = data({
    model: '"; DROP',
    drift: [
      drift('<img src=x onerror=alert(1)>', W1, true, 0.3),
      drift('=HYPERLINK("http://x")', W1, false, 0),
    ],
  });
  const report = assembleReport([{ current: hostile }], {
    namespace: 'default',
    period,
    title: 'mlmon report: "; DROP',
    generatedAt: new Date('2026-03-03T01:00:00Z'),
  });

  it('the html tag escapes every interpolation', () => {
    expect(html`<td>${'<b a="1">&\''}</td>`.value).toBe('<td>&lt;b a=&quot;1&quot;&gt;&amp;&#39;</td>');
  });

  it('hostile names appear as text in the HTML, never as markup', () => {
    const page = renderHtml(report, [], { imageSource: () => '' });
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('<td>&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(page).toContain('<title>mlmon report: &quot;; DROP</title>');
    expect(page).toMatch(/Content-Security-Policy"\s+content="default-src 'none'/);
    expect(page).not.toMatch(/<script/i);
  });

  it('no header injection through the subject', () => {
    expect(headerSafe('fraud\r\nBcc: attacker@example.com')).toBe('fraud Bcc: attacker@example.com');
    const crlf = assembleReport([{ current: data({ model: 'm\r\nBcc: attacker@example.com' }) }], {
      namespace: 'default',
      period,
      title: 'r',
      generatedAt: new Date(),
    });
    expect(reportSubject(crlf, '[p]')).toBe(
      '[p] r (2026-03-02T00:00Z – 2026-03-03T00:00Z) – m Bcc: attacker@example.com: no-data',
    );
    expect(renderText(crlf)).not.toContain('\r');
  });

  it('CSV: names quoted by csv-stringify, formulas defused', () => {
    const rows = parseCsv(driftCsv(report), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r.feature)).toEqual(['<img src=x onerror=alert(1)>', '\'=HYPERLINK("http://x")']);
    expect(rows.map((r) => r.model)).toEqual(['"; DROP', '"; DROP']);
    expect(rows.map((r) => r.detected)).toEqual(['true', 'false']);
  });
});

describe('report jobs in the configuration', () => {
  it('defaults, and each problem with its path', () => {
    const config = validateConfig(
      {
        smtp: { url: 'smtp://mail:25', from: 'mlmon@example.com', to: ['team@example.com'] },
        models: [{ name: 'fraud', window: '1h', performance: { bounds: { accuracy: { min: 0.8 } } } }],
        reports: [{ name: 'daily', models: ['fraud'], period: '1d' }],
      },
      { env: {} },
    );
    expect(config.reports).toEqual([
      {
        name: 'daily',
        models: ['fraud'],
        namespace: 'default',
        periodMs: 86_400_000,
        cron: '0 */5 * * * *',
        delayMs: 1_800_000,
        start: undefined,
        to: ['team@example.com'],
        from: 'mlmon@example.com',
        subjectPrefix: undefined,
        topFeatures: 3,
        sendAttempts: 4,
        retryDelayMs: 30_000,
      },
    ]);
    // Run by the scheduler as a pass over 1-day periods with the report job; the latest due period
    // at 2026-03-05T10:00Z with a 30 min delay is [03-04, 03-05).
    const [schedule] = reportSchedules(config, Date.parse('2026-03-05T10:00:00Z'));
    expect(schedule?.name).toBe('report:daily');
    expect(schedule?.windowMs).toBe(86_400_000);
    expect(schedule?.start?.toISOString()).toBe('2026-03-04T00:00:00.000Z');
    expect(schedule?.jobs.map((j) => j.name)).toEqual(['report']);
    expect((schedule?.jobs[0]?.options as { bounds: unknown }).bounds).toEqual({
      fraud: { accuracy: { min: 0.8 } },
    });

    const error = (() => {
      try {
        validateConfig(
          { reports: [{ name: 'x', period: 'daily', to: ['not-an-address'], colour: 1 }] },
          { env: {} },
        );
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.problems.map((p) => p.path).sort()).toEqual([
      'reports[0].colour',
      'reports[0].models',
      'reports[0].period',
      'reports[0].to[0]',
    ]);
  });
});

describe('mlmon report arguments', () => {
  const now = new Date('2026-03-05T10:00:00Z');
  /** The command line as `mlmon report` reads it, its times resolved against `now`. */
  const parseReportArguments = (argv: string[], at: Date) => {
    const parsed = parseOptions(argv, reportOptions);
    if (parsed.help) throw new Error('--help is not a report argument');
    return reportArguments(parsed.values, at);
  };
  it('--last, --from/--to, and --to as recipients', () => {
    const a = parseReportArguments(
      ['--model', 'a', '--model', 'b', '--last', '7d', '--to', 'x@example.com,y@example.com'],
      now,
    );
    expect(a.models).toEqual(['a', 'b']);
    expect(a.period.start.toISOString()).toBe('2026-02-26T10:00:00.000Z');
    expect(a.to).toEqual(['x@example.com', 'y@example.com']);
    const b = parseReportArguments(
      ['--model', 'a', '--from', '2026-03-01', '--to', 'now-1d', '--to', 'z@example.com'],
      now,
    );
    expect([b.period.start.toISOString(), b.period.end.toISOString()]).toEqual([
      '2026-03-01T00:00:00.000Z',
      '2026-03-04T10:00:00.000Z',
    ]);
    expect(b.to).toEqual(['z@example.com']);
    expect(() => parseReportArguments(['--last', '1d'], now)).toThrow(UsageError);
    expect(() => parseReportArguments(['--model', 'a', '--last', 'yesterday'], now)).toThrow(
      '--last: "yesterday" is not a positive duration',
    );
    expect(() => parseReportArguments(['--model', 'a', '--last', '1d', '--from', 'now-2d'], now)).toThrow(
      /not both/,
    );
  });
});

describe('multivariate drift in the verdict (issue 27)', () => {
  it('a joint-distribution alarm makes the model drifting though no feature drifted', () => {
    const joint = (start: string, detected: boolean): DriftRow => ({
      ...drift('_multivariate.pca_reconstruction', start, detected, detected ? 2.3 : 1.5),
      kind: 'dataset',
      method: 'pca_reconstruction',
      threshold: 1.9,
    });
    const rows = [
      drift('x1', '2026-03-02T00:00:00Z', false, 0.01),
      joint('2026-03-02T00:00:00Z', false),
      joint('2026-03-02T01:00:00Z', true),
    ];
    const v = verdictOf(data({ drift: rows }));
    expect(v.status).toBe('drifting');
    expect(v.sentence).toBe(
      "fraud is drifting: the features' joint distribution drifted (pca_reconstruction in 1/2 windows).",
    );
  });
});
