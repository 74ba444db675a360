/**
 * Alert rules and connectors as data, built from settings. Only rule types that ship with Kibana:
 * `.es-query` (a query DSL search counted against a threshold, optionally grouped) and
 * `.index-threshold` (an aggregation over a time window compared with a threshold). Parameter
 * names and constraints follow Kibana's own schemas (stack_alerts rule_type_params.ts; see
 * kibana/README.md for the commit). Bodies are the ones the HTTP API takes: POST
 * /api/alerting/rule/{id} (create) and PUT (update, without rule_type_id, consumer and enabled);
 * POST/PUT /api/actions/connector/{id}.
 *
 * Length: specs() is over 100 lines on purpose: it is the list of rule definitions, data rather
 * than logic.
 */
import { DATASET_FEATURE } from '../analyzer/results.js';
import { streamPattern } from '../schema/streams.js';
import { dashboardUrl, type DashboardKey } from './dashboards.js';

export interface EmailSettings {
  from: string;
  host: string;
  port: number;
  secure: boolean;
  to: string[];
  /** SMTP credentials; sent as connector secrets, never printed or exported. */
  user?: string;
  password?: string;
}

export interface AlertSettings {
  /** Length of one analysis window in minutes (default 60): results older than two are stale. */
  windowMinutes: number;
  /** No prediction for this many minutes means ingestion stopped (default 15). */
  ingestionStoppedMinutes: number;
  /** A data-quality rate above this fires (default 0.05). */
  qualityRateThreshold: number;
  /** How often Kibana runs the rules (default 5m). */
  checkInterval: string;
  /** Base of dashboard links in messages; default Kibana's own `{{kibanaBaseUrl}}` rule variable. */
  kibanaBaseUrl: string;
  email?: EmailSettings;
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  windowMinutes: 60,
  ingestionStoppedMinutes: 15,
  qualityRateThreshold: 0.05,
  checkInterval: '5m',
  kibanaBaseUrl: '{{kibanaBaseUrl}}',
};

export interface Connector {
  id: string;
  connector_type_id: '.server-log' | '.email';
  name: string;
  config: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

export const SERVER_LOG_CONNECTOR_ID = 'mlmon-connector-server-log';
export const EMAIL_CONNECTOR_ID = 'mlmon-connector-email';

export function connectors(settings: AlertSettings): Connector[] {
  const out: Connector[] = [
    {
      id: SERVER_LOG_CONNECTOR_ID,
      connector_type_id: '.server-log',
      name: 'mlmon server log',
      config: {},
      secrets: {},
    },
  ];
  const email = settings.email;
  if (email) {
    const hasAuth = email.user !== undefined;
    out.push({
      id: EMAIL_CONNECTOR_ID,
      connector_type_id: '.email',
      name: 'mlmon e-mail',
      config: {
        service: 'other',
        from: email.from,
        host: email.host,
        port: email.port,
        secure: email.secure,
        hasAuth,
      },
      secrets: hasAuth ? { user: email.user, password: email.password ?? '' } : {},
    });
  }
  return out;
}

export type RuleTypeId = '.es-query' | '.index-threshold';

export interface Rule {
  id: string;
  name: string;
  rule_type_id: RuleTypeId;
  consumer: 'stackAlerts';
  schedule: { interval: string };
  params: Record<string, unknown>;
  actions: Array<{
    group: string;
    id: string;
    params: Record<string, unknown>;
    frequency: { summary: boolean; notify_when: string; throttle: string | null };
  }>;
  tags: string[];
  enabled: boolean;
}

/** Drift severities that fire the drift rule (Kibana and Prometheus alike); `low` does not. */
export const ALARM_DRIFT_SEVERITIES = ['medium', 'high'] as const;

/**
 * How urgent each rule is, as a tag `severity:<level>` on the Kibana rule and the `severity` label of
 * its Prometheus twin (prometheus/mlmon.rules.yml; test/prometheus checks they agree). `critical`:
 * the monitoring itself or the model's realised quality is broken (no predictions arriving, no
 * analyzer results, realised performance below its bound: someone must act now); `warning`: a
 * signal to look at in working hours (drift of medium or high severity, an estimate below its bound,
 * a data-quality rate above its threshold, dead letters).
 */
export const RULE_SEVERITY: Record<string, 'critical' | 'warning'> = {
  'mlmon-rule-drift-detected': 'warning',
  'mlmon-rule-performance-realised': 'critical',
  'mlmon-rule-performance-estimated': 'warning',
  'mlmon-rule-estimate-unreliable': 'warning',
  'mlmon-rule-quality-rate': 'warning',
  'mlmon-rule-analyzer-stale': 'critical',
  'mlmon-rule-ingestion-stopped': 'critical',
  'mlmon-rule-dead-letters': 'warning',
};

/** Action group in which each rule type reports a met condition. */
export const ACTION_GROUP: Record<RuleTypeId, string> = {
  '.es-query': 'query matched',
  '.index-threshold': 'threshold met',
};

interface RuleSpec {
  id: string;
  name: string;
  type: RuleTypeId;
  params: Record<string, unknown>;
  subject: string;
  /** Message body (Mustache; Kibana renders it with the rule's action variables). */
  message: string;
}

/** `{{...}}` of the first hit of an `.es-query` alert (hits of one group when grouped). */
const hit = (path: string) => `{{context.hits.0._source.${path}}}`;

/**
 * Each breached bound of a hit (`violations`: metric, value and the bound it crossed, written by
 * the analyzer) as "accuracy 0.52 below its lower bound 0.8". A bound of 0 would not print
 * (Mustache treats 0 as false); no lower or upper bound of a performance metric is 0 in practice.
 */
const violations = (path: string) =>
  `{{#${path}}}{{metric}} {{value}}{{#lower}} below its lower bound {{lower}}{{/lower}}{{#upper}} above its upper bound {{upper}}{{/upper}}; {{/${path}}}`;

function esQueryParams(
  kind: Parameters<typeof streamPattern>[0],
  query: Record<string, unknown>,
  p: {
    thresholdComparator: string;
    threshold: number[];
    windowMinutes: number;
    termField?: string | string[];
    size?: number;
    excludeHitsFromPreviousRun?: boolean;
  },
): Record<string, unknown> {
  return {
    searchType: 'esQuery',
    index: [streamPattern(kind)],
    timeField: '@timestamp',
    esQuery: JSON.stringify({ query }),
    size: p.size ?? 100,
    threshold: p.threshold,
    thresholdComparator: p.thresholdComparator,
    timeWindowSize: p.windowMinutes,
    timeWindowUnit: 'm',
    excludeHitsFromPreviousRun: p.excludeHitsFromPreviousRun ?? true,
    aggType: 'count',
    ...(p.termField ? { groupBy: 'top', termField: p.termField, termSize: 100 } : { groupBy: 'all' }),
  };
}

/** Model-scope performance documents with `term`, counted per model and version over `lookback` minutes. */
function perModelVersion(term: Record<string, boolean>, lookback: number): Record<string, unknown> {
  return esQueryParams(
    'performance',
    { bool: { filter: [{ term: { 'performance.scope': 'model' } }, { term }] } },
    {
      thresholdComparator: '>',
      threshold: [0],
      windowMinutes: lookback,
      termField: ['model.name', 'model.version'],
    },
  );
}

function link(settings: AlertSettings, key: DashboardKey): string {
  return dashboardUrl(settings.kibanaBaseUrl, key, hit('model.name'));
}

function specs(s: AlertSettings): RuleSpec[] {
  // Results are written when a window closes; looking back two windows catches a late analyzer
  // run, and excludeHitsFromPreviousRun keeps one result from alerting twice.
  const lookback = 2 * s.windowMinutes;
  const t = s.qualityRateThreshold;
  const rates = ['missing_rate', 'out_of_range_rate', 'unseen_category_rate', 'type_mismatch_rate'];
  return [
    {
      id: 'mlmon-rule-drift-detected',
      name: 'mlmon: feature drift detected',
      type: '.es-query',
      params: esQueryParams(
        'drift',
        {
          bool: {
            // model inputs only (role feature): not the dataset summary, prediction or target. Only
            // drift of severity medium or high pages (p below a tenth of its threshold, or a
            // distance of twice its threshold; stats/drift/decide.ts): `low` is where the false
            // alarms of many features × windows gather, and stays on the dashboards and in the report.
            // Malformed values are quality findings (the quality rule), never drift (issue 27).
            filter: [
              { term: { 'feature.role': 'feature' } },
              { term: { 'drift.detected': true } },
              { terms: { 'drift.severity': [...ALARM_DRIFT_SEVERITIES] } },
            ],
            must_not: [{ term: { 'feature.name': DATASET_FEATURE } }],
          },
        },
        {
          thresholdComparator: '>',
          threshold: [0],
          windowMinutes: lookback,
          termField: ['model.name', 'feature.name'],
        },
      ),
      subject: `Drift: ${hit('model.name')} ${hit('model.version')} feature ${hit('feature.name')}`,
      message: [
        `Feature drift detected for model ${hit('model.name')} version ${hit('model.version')}, feature ${hit('feature.name')}.`,
        `{{#context.hits}}- window ending {{_source.window.end}}: {{_source.drift.method}} score {{_source.drift.score}} (threshold {{_source.drift.threshold}}), PSI {{_source.drift.psi}}, severity {{_source.drift.severity}}\n{{/context.hits}}`,
        `Dashboard: ${link(s, 'drift')}`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-multivariate-drift',
      name: 'mlmon: multivariate drift detected',
      type: '.es-query',
      params: esQueryParams(
        'drift',
        {
          bool: {
            filter: [{ term: { 'feature.role': 'multivariate' } }, { term: { 'drift.detected': true } }],
          },
        },
        {
          thresholdComparator: '>',
          threshold: [0],
          windowMinutes: lookback,
          termField: ['model.name', 'drift.method'],
        },
      ),
      subject: `Multivariate drift: ${hit('model.name')} ${hit('model.version')} (${hit('drift.method')})`,
      message: [
        `The joint distribution of the features of model ${hit('model.name')} version ${hit('model.version')} moved away from the reference (${hit('drift.method')}), though no single feature may show it.`,
        `{{#context.hits}}- window ending {{_source.window.end}}: {{_source.drift.method}} {{_source.drift.score}} (threshold {{_source.drift.threshold}}, sampling error {{_source.drift.error}}) on {{_source.sample.documents}} sampled rows, severity {{_source.drift.severity}}\n{{/context.hits}}`,
        `Dashboard: ${link(s, 'drift')}`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-performance-realised',
      name: 'mlmon: realised performance below its bound',
      type: '.es-query',
      params: esQueryParams(
        'performance',
        {
          bool: {
            filter: [{ term: { 'performance.scope': 'model' } }, { term: { 'performance.degraded': true } }],
          },
        },
        {
          thresholdComparator: '>',
          threshold: [0],
          windowMinutes: lookback,
          termField: ['model.name', 'model.version'],
        },
      ),
      subject: `Performance below bound: ${hit('model.name')} ${hit('model.version')}`,
      message: [
        `Realised performance of model ${hit('model.name')} version ${hit('model.version')} is below its bound.`,
        `{{#context.hits}}- window ending {{_source.window.end}} ({{_source.performance.count}} labelled): ${violations('_source.performance.violations')}\n{{/context.hits}}`,
        'Bounds: `performance.bounds` of this model in the mlmon configuration, stored with each result as `performance.bounds`.',
        `Dashboard: ${link(s, 'performance')}`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-performance-estimated',
      name: 'mlmon: estimated performance below its bound',
      type: '.es-query',
      params: perModelVersion({ 'performance.estimated.degraded': true }, lookback),
      subject: `Estimated performance below bound: ${hit('model.name')} ${hit('model.version')}`,
      message: [
        `Estimated (CBPE) performance of model ${hit('model.name')} version ${hit('model.version')} is below its bound.`,
        `{{#context.hits}}- window ending {{_source.window.end}} (label coverage {{_source.performance.label_coverage}}): estimated ${violations('_source.performance.estimated.violations')}; band of the estimated accuracy {{_source.performance.estimated.accuracy_lower}}–{{_source.performance.estimated.accuracy_upper}}{{#_source.performance.estimated.failed_assumptions}}; labels contradict the estimate, failed assumption: {{.}}{{/_source.performance.estimated.failed_assumptions}}\n{{/context.hits}}`,
        `Dashboard: ${link(s, 'performance')}`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-ab-loss',
      name: 'mlmon: A/B challenger significantly worse than the champion',
      type: '.es-query',
      params: esQueryParams(
        'performance',
        {
          bool: {
            filter: [
              { term: { 'performance.scope': 'comparison' } },
              { term: { 'comparison.verdict': 'b_worse' } },
            ],
          },
        },
        {
          thresholdComparator: '>',
          threshold: [0],
          windowMinutes: lookback,
          termField: ['model.name', 'model.version'],
        },
      ),
      subject: `A/B loss: ${hit('model.name')} version ${hit('model.version')} worse than {{context.hits.0._source.comparison.version_a}}`,
      message: [
        `Version ${hit('model.version')} of model ${hit('model.name')} (B) is significantly worse than the champion (A).`,
        `{{#context.hits}}- window ending {{_source.window.end}}: {{_source.comparison.metric}} B {{_source.comparison.b}} vs A {{_source.comparison.a}} (version {{_source.comparison.version_a}}), B − A {{_source.comparison.difference}} [{{_source.comparison.lower}}, {{_source.comparison.upper}}], p {{_source.comparison.p_value}}, {{_source.comparison.count_b}} and {{_source.comparison.count_a}} labelled\n{{/context.hits}}`,
        `Dashboard: ${link(s, 'performance')}`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-estimate-unreliable',
      name: 'mlmon: estimated performance unreliable',
      type: '.es-query',
      // labels contradict the estimate, or its calibration failed its reference out of fold
      params: perModelVersion({ 'performance.estimated.reliable': false }, lookback),
      subject: `Estimate unreliable: ${hit('model.name')} ${hit('model.version')}`,
      message: [
        `The label-free estimate of model ${hit('model.name')} version ${hit('model.version')} cannot be trusted.`,
        `{{#context.hits}}- window ending {{_source.window.end}}: estimated accuracy {{_source.performance.estimated.accuracy}}, why: {{#_source.performance.estimated.unreliable_reason}}{{.}} {{/_source.performance.estimated.unreliable_reason}}{{#_source.performance.estimated.failed_assumptions}}; failed assumption: {{.}}{{/_source.performance.estimated.failed_assumptions}}\n{{/context.hits}}`,
        `Dashboard: ${link(s, 'performance')}`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-quality-rate',
      name: 'mlmon: data-quality rate above threshold',
      type: '.es-query',
      params: esQueryParams(
        'quality',
        {
          bool: {
            // model inputs only: a target missing from predictions is how delayed labels look
            filter: [{ term: { 'feature.role': 'feature' } }],
            should: rates.map((r) => ({ range: { [`quality.${r}`]: { gt: t } } })),
            minimum_should_match: 1,
          },
        },
        {
          thresholdComparator: '>',
          threshold: [0],
          windowMinutes: lookback,
          termField: ['model.name', 'feature.name'],
        },
      ),
      subject: `Data quality: ${hit('model.name')} ${hit('model.version')} feature ${hit('feature.name')}`,
      message: [
        `A data-quality rate of model ${hit('model.name')} version ${hit('model.version')}, feature ${hit('feature.name')}, is above ${t}.`,
        `{{#context.hits}}- window ending {{_source.window.end}}: missing {{_source.quality.missing_rate}}, out of range {{_source.quality.out_of_range_rate}}, unseen category {{_source.quality.unseen_category_rate}}, type mismatch {{_source.quality.type_mismatch_rate}} (threshold ${t}), severity {{_source.quality.severity}}\n{{/context.hits}}`,
        `Dashboard: ${link(s, 'quality')}`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-analyzer-stale',
      name: 'mlmon: analyzer stale (no results for two windows)',
      type: '.es-query',
      params: esQueryParams(
        'drift',
        { match_all: {} },
        {
          thresholdComparator: '<',
          threshold: [1],
          windowMinutes: lookback,
          excludeHitsFromPreviousRun: false,
          size: 0,
        },
      ),
      subject: 'mlmon analyzer stale',
      message: [
        `No drift result documents were written in the last ${lookback} minutes (two analysis windows of ${s.windowMinutes} minutes): the analyzer or its scheduler is not running.`,
        `Found {{context.value}} result documents (threshold: fewer than 1).`,
        `Dashboard: ${s.kibanaBaseUrl.replace(/\/$/, '')}/app/dashboards#/view/mlmon-dashboard-overview`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-ingestion-stopped',
      name: 'mlmon: prediction ingestion stopped',
      type: '.index-threshold',
      params: {
        index: [streamPattern('prediction')],
        timeField: '@timestamp',
        aggType: 'count',
        groupBy: 'all',
        timeWindowSize: s.ingestionStoppedMinutes,
        timeWindowUnit: 'm',
        thresholdComparator: '<',
        threshold: [1],
      },
      subject: 'mlmon: no predictions logged',
      message: [
        `{{context.value}} predictions were logged in the last ${s.ingestionStoppedMinutes} minutes (threshold: fewer than 1, {{context.conditions}}).`,
        'The services stopped predicting or their logger cannot reach Elasticsearch (see the dead letters and the logger counters).',
        `Dashboard: ${s.kibanaBaseUrl.replace(/\/$/, '')}/app/dashboards#/view/mlmon-dashboard-overview`,
      ].join('\n'),
    },
    {
      id: 'mlmon-rule-dead-letters',
      name: 'mlmon: dead letters appearing',
      type: '.es-query',
      params: esQueryParams(
        'deadletter',
        { match_all: {} },
        { thresholdComparator: '>', threshold: [0], windowMinutes: lookback, size: 20 },
      ),
      subject: 'mlmon: {{context.value}} events dead-lettered',
      message: [
        '{{context.value}} prediction events could not be indexed and were dead-lettered.',
        `{{#context.hits}}- {{_source.@timestamp}} model {{_source.model.name}} {{_source.model.version}}: {{_source.error.type}} {{_source.error.reason}} (stage {{_source.deadletter.stage}})\n{{/context.hits}}`,
        `Dashboard: ${link(s, 'quality')}`,
      ].join('\n'),
    },
  ];
}

export function rules(settings: AlertSettings): Rule[] {
  return specs(settings).map((r) => {
    const group = ACTION_GROUP[r.type];
    const frequency = { summary: false, notify_when: 'onActionGroupChange', throttle: null };
    const actions: Rule['actions'] = [
      {
        group,
        id: SERVER_LOG_CONNECTOR_ID,
        params: { level: 'warn', message: `${r.subject}\n${r.message}` },
        frequency,
      },
    ];
    if (settings.email) {
      actions.push({
        group,
        id: EMAIL_CONNECTOR_ID,
        params: { to: settings.email.to, subject: r.subject, message: r.message },
        frequency,
      });
    }
    return {
      id: r.id,
      name: r.name,
      rule_type_id: r.type,
      consumer: 'stackAlerts',
      schedule: { interval: settings.checkInterval },
      params: r.params,
      actions,
      tags: ['mlmon', `severity:${RULE_SEVERITY[r.id] ?? 'warning'}`],
      enabled: true,
    };
  });
}

/** Body of POST /api/alerting/rule/{id}. */
export function ruleCreateBody(r: Rule): Record<string, unknown> {
  const { id: _id, ...body } = r;
  return body;
}

/** Body of PUT /api/alerting/rule/{id}: the create body without rule_type_id, consumer and enabled. */
export function ruleUpdateBody(r: Rule): Record<string, unknown> {
  return { name: r.name, schedule: r.schedule, params: r.params, actions: r.actions, tags: r.tags };
}

export function connectorCreateBody(c: Connector): Record<string, unknown> {
  return { name: c.name, connector_type_id: c.connector_type_id, config: c.config, secrets: c.secrets };
}

export function connectorUpdateBody(c: Connector): Record<string, unknown> {
  return { name: c.name, config: c.config, secrets: c.secrets };
}
