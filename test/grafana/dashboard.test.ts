/**
 * grafana/mlmon-scheduler.json against Grafana's documented dashboard model and against what the
 * scheduler actually exports.
 *
 * Model: the classic dashboard JSON model (the one Grafana's "Import dashboard" takes and
 * grafana.com/dashboards shares; Grafana's docs, "Dashboard JSON model", v13: still importable), with
 * the constraints of its schema as written in grafana/grafana `kinds/dashboard/dashboard_kind.cue`
 * (read at commit 00139e84396be1600192135b87b8607f3f7b79d0, schemaVersion 36): `graphTooltip` 0|1|2,
 * `style` light|dark, variable `type` one of query|adhoc|constant|datasource|interval|textbox|
 * custom|system and `hide` 0|1|2, panel `type` non-empty, `gridPos` h > 0, 0 < w ≤ 24, 0 ≤ x < 24,
 * y ≥ 0, `repeatDirection` h|v, `transformations` a list, `options` an object, `fieldConfig` with
 * `defaults` and `overrides`, thresholds mode absolute|percentage with steps sorted by value and
 * the first at −∞ (null in JSON), row panels with `collapsed` and `panels`, annotations with `name`,
 * `datasource`, `enable` and `iconColor`. The schema leaves panel targets to the data source; for
 * Prometheus each needs a `refId` and an `expr`.
 *
 * Metrics: the test starts the scheduler's real /metrics endpoint (SchedulerMetrics +
 * startMetricsServer, as `mlmon schedule` does) and scrapes it; every metric name in the
 * dashboard's PromQL must be one it exports, and every `mlmon_*` metric it exports must be on the
 * dashboard.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SchedulerMetrics } from '../../src/scheduler/metrics.js';
import { startMetricsServer } from '../../src/scheduler/metrics-server.js';

interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}
interface Target {
  refId: string;
  expr: string;
}
interface Panel {
  type: string;
  id: number;
  title?: string;
  gridPos: GridPos;
  collapsed?: boolean;
  panels?: Panel[];
  transparent?: boolean;
  repeatDirection?: string;
  transformations?: unknown[];
  options?: Record<string, unknown>;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: {
    defaults: { thresholds?: { mode: string; steps: Array<{ color: string; value: number | null }> } };
    overrides: unknown[];
  };
  targets?: Target[];
}
interface Dashboard {
  id: null;
  uid: string;
  title: string;
  style: string;
  editable: boolean;
  graphTooltip: number;
  schemaVersion: number;
  time: { from: string; to: string };
  refresh: string | false;
  templating: { list: Array<{ type: string; name: string; hide: number; query: unknown }> };
  annotations: { list: Array<{ name: string; datasource: object; enable: boolean; iconColor: string }> };
  panels: Panel[];
}

const dashboard = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../grafana/mlmon-scheduler.json', import.meta.url)), 'utf8'),
) as Dashboard;
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = allPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

const PROMQL_WORDS = new Set([
  // aggregation operators and their modifiers
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  // functions used here or commonly
  'increase',
  'rate',
  'irate',
  'delta',
  'time',
  'abs',
  'clamp_min',
  'clamp_max',
  'histogram_quantile',
  'label_values',
]);

/** Metric names in a PromQL expression: identifiers outside label matchers, ranges, groupings and strings. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\$\w+/g, ''); // dashboard variables
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return names.filter((n) => !PROMQL_WORDS.has(n));
}

describe('grafana/mlmon-scheduler.json', () => {
  it('follows the classic dashboard model', () => {
    expect(dashboard.id).toBeNull(); // a fresh import: Grafana assigns the id
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{8,40}$/);
    expect(dashboard.title.length).toBeGreaterThan(0);
    expect(['light', 'dark']).toContain(dashboard.style);
    expect(typeof dashboard.editable).toBe('boolean');
    expect([0, 1, 2]).toContain(dashboard.graphTooltip);
    expect(Number.isInteger(dashboard.schemaVersion) && dashboard.schemaVersion > 0).toBe(true);
    expect(dashboard.time).toEqual({ from: expect.any(String), to: expect.any(String) });
    for (const v of dashboard.templating.list) {
      expect([
        'query',
        'adhoc',
        'constant',
        'datasource',
        'interval',
        'textbox',
        'custom',
        'system',
      ]).toContain(v.type);
      expect([0, 1, 2]).toContain(v.hide);
      expect(v.name).toMatch(/^\w+$/);
    }
    for (const a of dashboard.annotations.list) {
      expect(a).toMatchObject({
        name: expect.any(String),
        enable: expect.any(Boolean),
        iconColor: expect.any(String),
      });
      expect(typeof a.datasource).toBe('object');
    }
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of allPanels) {
      const where = `panel ${p.id} ${p.title ?? ''}`;
      expect(p.type.length, where).toBeGreaterThan(0);
      expect(Number.isInteger(p.id) && p.id >= 0, where).toBe(true);
      const g = p.gridPos;
      expect(g.h > 0 && g.w > 0 && g.w <= 24 && g.x >= 0 && g.x < 24 && g.y >= 0, where).toBe(true);
      expect(g.x + g.w, `${where} fits the 24-column grid`).toBeLessThanOrEqual(24);
      if (p.type === 'row') {
        expect(typeof p.collapsed, where).toBe('boolean');
        expect(Array.isArray(p.panels), where).toBe(true);
        continue;
      }
      expect(typeof p.transparent, where).toBe('boolean');
      expect(['h', 'v'], where).toContain(p.repeatDirection);
      expect(Array.isArray(p.transformations), where).toBe(true);
      expect(typeof p.options, where).toBe('object');
      expect(p.fieldConfig?.defaults, where).toBeTypeOf('object');
      expect(Array.isArray(p.fieldConfig?.overrides), where).toBe(true);
      const thresholds = p.fieldConfig?.defaults.thresholds;
      if (thresholds) {
        expect(['absolute', 'percentage'], where).toContain(thresholds.mode);
        expect(thresholds.steps[0]?.value, `${where}: first step is -Infinity`).toBeNull();
        const values = thresholds.steps.slice(1).map((s) => s.value as number);
        expect(values, `${where}: steps sorted`).toEqual([...values].sort((a, b) => a - b));
      }
      expect(p.datasource, where).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets?.length, where).toBeGreaterThan(0);
      for (const t of p.targets ?? [])
        expect(t, where).toMatchObject({ refId: expect.any(String), expr: expect.any(String) });
    }
    // panels do not overlap (rows are 1 high and span the width)
    const cells = new Set<string>();
    for (const p of allPanels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const cell = `${x},${y}`;
          expect(cells.has(cell), `panel ${p.id} overlaps at ${cell}`).toBe(false);
          cells.add(cell);
        }
    }
  });

  it('extracts metric names from PromQL (hand-checked cases)', () => {
    expect(
      metricNames('sum by (model, job) (increase(a_total{x=~"$m", y="b c"}[$__rate_interval]))'),
    ).toEqual(['a_total']);
    expect(metricNames('time() - max by (kind) (b_seconds{k="v"})')).toEqual(['b_seconds']);
    expect(metricNames('label_values(c_seconds{namespace=~"$namespace"}, model)')).toEqual([
      'c_seconds',
      'model',
    ]);
  });

  it('queries only metrics the scheduler exports, and shows all of them', async () => {
    const server = await startMetricsServer(new SchedulerMetrics('grafana-check'), {
      port: 0,
      host: '127.0.0.1',
    });
    let text: string;
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      text = await response.text();
    } finally {
      await server.close();
    }
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1] as string));
    // the 19 families src/scheduler/metrics.ts registers
    expect([...exported].filter((n) => n.startsWith('mlmon_')).sort()).toEqual(
      [
        'mlmon_drift_detected',
        'mlmon_drift_score',
        'mlmon_feature_drift_severity',
        'mlmon_performance',
        'mlmon_performance_degraded',
        'mlmon_performance_estimate_degraded',
        'mlmon_performance_estimate_unreliable',
        'mlmon_report_emails_sent_total',
        'mlmon_report_send_failures_total',
        'mlmon_result_window_end_seconds',
        'mlmon_scheduler_hook_calls_total',
        'mlmon_scheduler_info',
        'mlmon_scheduler_lag_seconds',
        'mlmon_scheduler_lock_takeovers_total',
        'mlmon_scheduler_window_failures_total',
        'mlmon_scheduler_windows_processed_total',
        'mlmon_service_error_rate',
        'mlmon_service_latency_ms',
        'mlmon_service_throughput_per_minute',
      ].sort(),
    );
    const used = new Set(queries.flatMap(metricNames));
    for (const name of used)
      expect(exported.has(name), `${name} is not exported by the scheduler`).toBe(true);
    for (const name of exported)
      if (name.startsWith('mlmon_')) expect(used.has(name), `${name} not on the dashboard`).toBe(true);
    // the variables' label_values queries read an exported metric and one of its labels
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const query = (v.query as { query: string }).query;
      const [metric] = metricNames(query);
      expect(exported.has(metric as string), query).toBe(true);
    }
  });
});
