/**
 * The configuration file's schema (zod 4): the one place that says which keys exist, what each one
 * accepts, its default, and how it is converted (durations to milliseconds, `every` to a cron
 * expression). The configuration types are inferred from it, so the allowed keys and the types
 * cannot drift apart. Adding a key is one line in the object it belongs to.
 *
 * Messages: leaf schemas word their own messages ("expected a string, got a number"); a message
 * that quotes the value carries the placeholder `{value}` and the value in `params.value`, and
 * `problems.ts` fills it in once the full path is known (so a secret is never quoted). Checks that
 * relate two keys run with `when: always`, so one run reports every problem, not just the first.
 *
 * The order of keys in each object is also the order in which problems are listed.
 *
 * Length: Over 450 lines on purpose: the schema is one declarative object tree, a key per line;
 * splitting it would scatter the order problems are listed in.
 */
import { hostname } from 'node:os';
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { parseDurationOrUndefined } from '../duration.js';
import { namespaceProblem } from '../streams.js';
import { parseInstant, TimeFormatError } from '../time.js';
import { CALIBRATION_MODES, type CalibrationMode } from '../../stats/performance/calibration.js';

export type HookEvent = 'drift.detected' | 'performance.degraded';
export const HOOK_EVENTS: readonly HookEvent[] = ['drift.detected', 'performance.degraded'];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_JOBS = ['drift', 'quality', 'performance', 'service'] as const;

/** Describes a value's kind for messages, without showing it. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * A cron expression (with seconds) that fires every `ms`, when the interval divides a minute, an
 * hour or a day evenly, so that the ticks of every replica line up with the window boundaries.
 */
export function intervalToCron(ms: number): string | undefined {
  if (ms % 1000 !== 0) return undefined;
  const seconds = ms / 1000;
  if (seconds < 60) return 60 % seconds === 0 ? `*/${seconds} * * * * *` : undefined;
  if (seconds % 60 !== 0) return undefined;
  const minutes = seconds / 60;
  if (minutes < 60) return 60 % minutes === 0 ? `0 */${minutes} * * * *` : undefined;
  if (minutes % 60 !== 0) return undefined;
  const hours = minutes / 60;
  if (hours < 24) return 24 % hours === 0 ? `0 0 */${hours} * * *` : undefined;
  return hours === 24 ? '0 0 0 * * *' : undefined;
}

// ---------------------------------------------------------------------------------------------
// Leaf schemas
// ---------------------------------------------------------------------------------------------

type Ctx = z.core.$RefinementCtx<unknown>;

/** An issue whose message quotes the value: `{value}` is filled in by problems.ts. */
function quoting(ctx: Ctx, message: string, value: unknown, path: PropertyKey[] = []): void {
  ctx.addIssue({ code: 'custom', message, params: { value }, input: value, path });
}

/**
 * Runs a check that relates several keys of an object even when one of them is itself wrong, so
 * one run reports every problem (by default zod skips an object's checks after any problem in it).
 * The check sees the keys that parsed; a key that did not holds its raw value, so checks test types.
 */
const always = {
  when: (payload: { value: unknown }) =>
    typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
};
/** The same for a check over a list's items. */
const alwaysForList = { when: (payload: { value: unknown }) => Array.isArray(payload.value) };

/** A non-empty string, with an optional further check. */
function text(check?: (value: string, ctx: Ctx) => void) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined || issue.input === null
          ? 'required'
          : `expected a string, got ${kindOf(issue.input)}`,
    })
    .superRefine((value, ctx) => {
      if (value.trim() === '') ctx.addIssue('must not be empty');
      else check?.(value, ctx as Ctx);
    });
}

function url(protocols: readonly string[] = ['http:', 'https:']) {
  return text((value, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      // problems.ts drops ": {value}" on secret paths (a webhook URL may carry a token).
      quoting(ctx, 'not a valid URL: {value}', value);
      return;
    }
    if (!protocols.includes(parsed.protocol))
      ctx.addIssue(`URL scheme must be ${protocols.map((p) => p.replace(':', '')).join(' or ')}`);
  });
}

function number({ min, max, integer }: { min?: number; max?: number; integer?: boolean } = {}) {
  return z
    .number({ error: (issue) => `expected a number, got ${kindOf(issue.input)}` })
    .superRefine((value, ctx) => {
      if (integer && !Number.isInteger(value)) ctx.addIssue(`expected an integer, got ${value}`);
      else if (min !== undefined && value < min) ctx.addIssue(`must be at least ${min}, got ${value}`);
      else if (max !== undefined && value > max) ctx.addIssue(`must be at most ${max}, got ${value}`);
    });
}

/** `"500ms"`, `"30s"`, `"5m"`, `"1h"`, `"1d"`, `"1w"` → milliseconds. */
function duration({ allowZero = false } = {}) {
  return z.unknown().transform((value, ctx): number => {
    // A zero delay ("0s") is a real setting: analyze a window as soon as it ends.
    if (
      allowZero &&
      (value === 0 || (typeof value === 'string' && /^\s*0+\s*(ms|s|m|h|d|w)?\s*$/.test(value)))
    )
      return 0;
    const ms = typeof value === 'string' ? parseDurationOrUndefined(value) : undefined;
    if (ms === undefined) {
      quoting(ctx as Ctx, 'expected a duration such as "500ms", "30s", "5m", "1h", "1d", got {value}', value);
      return z.NEVER;
    }
    return ms;
  });
}

/**
 * An instant in the one time grammar (schema/time.ts): impossible dates such as 2026-02-30 are
 * refused, not rolled over into March as `new Date` would. YAML may already give a Date.
 */
function instant() {
  return z
    .union([z.date(), text()], { error: (issue) => `expected a string, got ${kindOf(issue.input)}` })
    .transform((value, ctx) => {
      if (value instanceof Date) return value;
      try {
        return parseInstant(value);
      } catch (error) {
        if (!(error instanceof TimeFormatError)) throw error;
        ctx.addIssue(error.message);
        return z.NEVER;
      }
    });
}

/** A list of strings; a single string stands for a list of one. */
function stringList(element = text(), required = 'required') {
  return z.preprocess(
    (value) => (typeof value === 'string' ? [value] : value),
    z.array(element, {
      error: (issue) =>
        issue.input === undefined ? required : `expected a list of strings, got ${kindOf(issue.input)}`,
    }),
  );
}

/** An object that rejects unknown keys (problems.ts lists the allowed ones and a near miss). */
function object<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.strictObject(shape, { error: (issue) => `expected an object, got ${kindOf(issue.input)}` });
}

/** An object with free keys (headers, job options, bounds per metric). */
function record<Value extends z.core.$ZodType>(value: Value) {
  return z.record(z.string(), value, {
    error: (issue) => `expected an object, got ${kindOf(issue.input)}`,
  });
}

function namespace() {
  return text((value, ctx) => {
    const problem = namespaceProblem(value);
    if (problem !== undefined) quoting(ctx, `${problem}; got {value}`, value);
  });
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

const hookSchema = object({
  name: text().optional(),
  on: stringList(
    text((value, ctx) => {
      if (!HOOK_EVENTS.includes(value as HookEvent))
        quoting(ctx, `unknown event {value}; expected ${HOOK_EVENTS.join(' or ')}`, value);
    }),
  )
    .transform((events) => events as HookEvent[])
    .optional(),
  webhook: object({
    url: url(),
    headers: record(text()).default({}),
    timeout: duration().default(10_000),
  })
    .transform(({ timeout, ...webhook }) => ({ ...webhook, timeoutMs: timeout }))
    .optional(),
  /** Program and arguments, run without a shell; the payload is written to its stdin. */
  command: z
    .union(
      [
        stringList().transform((run) => ({ run, timeout: undefined })),
        object({
          run: stringList(text(), 'required: the program and its arguments'),
          timeout: duration().optional(),
        }),
      ],
      { error: (issue) => `expected a list of strings or { run, timeout }, got ${kindOf(issue.input)}` },
    )
    .superRefine(({ run }, ctx) => {
      if (run.length === 0) ctx.addIssue('required: the program and its arguments');
    })
    .transform(({ run, timeout }) => ({ argv: run, timeoutMs: timeout ?? 60_000 }))
    .optional(),
}).superRefine((hook, ctx) => {
  if (hook.webhook === undefined && hook.command === undefined)
    ctx.addIssue('a hook needs a "webhook" or a "command"');
}, always);

const jobSchema = z.union(
  [
    text().transform((name) => ({ name, options: {} as Record<string, unknown> })),
    object({ name: text(), options: record(z.unknown()).default({}) }),
  ],
  { error: (issue) => `expected a job name or { name, options }, got ${kindOf(issue.input)}` },
);

const boundSchema = object({ min: number().optional(), max: number().optional() }).superRefine(
  ({ min, max }, ctx) => {
    if (min === undefined && max === undefined) ctx.addIssue('give "min", "max" or both');
    else if (typeof min === 'number' && typeof max === 'number' && min > max)
      ctx.addIssue(`min ${min} is above max ${max}`);
  },
  always,
);

/** Default `performance.calibration`: measured in docs/performance.md, "Which default". */
export const DEFAULT_CALIBRATION_MODE: CalibrationMode = 'isotonic';

/** Default `performance.labelHorizon`: labels up to 30 days after the prediction re-compute its window. */
export const DEFAULT_LABEL_HORIZON_MS = 30 * 86_400_000;

const performanceSchema = object({
  positiveClass: z
    .union([z.number().transform(String), text()], {
      error: (issue) => `expected a string, got ${kindOf(issue.input)}`,
    })
    .optional(),
  threshold: number({ min: 0, max: 1 }).optional(),
  /** Expected range per metric (`accuracy: { min: 0.8 }`, `rmse: { max: 3 }`). */
  bounds: record(boundSchema).default({}),
  /**
   * How long after a prediction its label may still arrive and change the stored performance of
   * its window (the scheduler re-computes such windows); default 30 days.
   */
  labelHorizon: duration({ allowZero: true }).default(DEFAULT_LABEL_HORIZON_MS),
  /**
   * Binary CBPE estimate: `isotonic` maps scores through the calibration stored with the baseline
   * (raw scores when it has none); `none` takes raw scores. Default and why: docs/performance.md.
   */
  calibration: z
    .enum(CALIBRATION_MODES, {
      error: (issue) => `expected one of ${CALIBRATION_MODES.join(', ')}, got ${JSON.stringify(issue.input)}`,
    })
    .default(DEFAULT_CALIBRATION_MODE),
}).transform(({ labelHorizon, ...performance }) => ({ ...performance, labelHorizonMs: labelHorizon }));

const modelSchema = object({
  name: text(),
  /** Explicit versions, or `all` (the default): then each job covers every version. */
  versions: z
    .preprocess(
      (value) =>
        value === 'all'
          ? undefined
          : Array.isArray(value)
            ? value.map((v) => (typeof v === 'number' ? String(v) : v))
            : value,
      z
        .array(text(), { error: () => 'expected "all" or a list of versions' })
        .min(1, 'an empty list analyzes nothing')
        .optional(),
    )
    .transform((versions): string[] | 'all' => versions ?? 'all'),
  namespace: namespace().optional(),
  /** `mlmon-baselines` id of the reference profile. */
  baseline: text().optional(),
  window: duration().optional(),
  /** A window is analyzed only once this long has passed after its end (late data). */
  delay: duration({ allowZero: true }).default(0),
  cron: text((value, ctx) => {
    if (!validateCron(value)) quoting(ctx, 'not a valid cron expression: {value}', value);
  }).optional(),
  /** An interval, turned into the cron expression that fires every so often. */
  every: duration()
    .transform((ms, ctx) => {
      const cron = intervalToCron(ms);
      if (cron === undefined) {
        ctx.addIssue(
          'must divide a minute, an hour or a day evenly (e.g. 10s, 5m, 2h); use "cron" for anything else',
        );
        return z.NEVER;
      }
      return cron;
    })
    .optional(),
  /** Earliest window start to analyze when no checkpoint exists yet. */
  start: instant().optional(),
  jobs: z
    .array(jobSchema, { error: () => 'expected a non-empty list of job names or { name, options }' })
    .min(1, 'expected a non-empty list of job names or { name, options }')
    .superRefine((jobs, ctx) => {
      const seen = new Set<string>();
      jobs.forEach((job, i) => {
        if (typeof job?.name !== 'string') return; // its own problem is reported
        if (seen.has(job.name))
          ctx.addIssue({ code: 'custom', message: `job "${job.name}" is listed twice`, path: [i] });
        seen.add(job.name);
      });
    }, alwaysForList)
    .default(() => DEFAULT_JOBS.map((name) => ({ name, options: {} }))),
  performance: performanceSchema.prefault({}),
  hooks: z
    .array(hookSchema, { error: (issue) => `expected a list of hooks, got ${kindOf(issue.input)}` })
    .transform((hooks) =>
      hooks.map(({ name, on, ...hook }, i) => ({
        name: name ?? `hook-${i + 1}`,
        on: on ?? [...HOOK_EVENTS],
        ...hook,
      })),
    )
    .default([]),
})
  .superRefine((model, ctx) => {
    if (model.window === undefined)
      ctx.addIssue({ code: 'custom', message: 'required: the window size, e.g. "1h"', path: ['window'] });
    if (model.cron !== undefined && model.every !== undefined)
      ctx.addIssue({ code: 'custom', message: 'give either "cron" or "every", not both', path: ['every'] });
  }, always)
  .transform(({ window, delay, cron, every, ...model }) => ({
    ...model,
    windowMs: window as number,
    delayMs: delay,
    /** node-cron expression that triggers a pass; by default one pass per window when it lines up, else every minute. */
    cron: cron ?? every ?? intervalToCron(window as number) ?? '0 * * * * *',
  }));

const schedulerSchema = object({
  /** Identity written into lock documents; default `hostname:pid`. */
  owner: text().optional(),
  /** A lock not renewed for this long is considered abandoned and may be taken over. */
  lockTtl: duration().default(60_000),
  /** How often a held lock is renewed while its window is processed (default a third of lockTtl). */
  heartbeat: duration().optional(),
  /** On SIGTERM, how long the window in progress may run on before it is aborted and released. */
  shutdownGrace: duration().default(30_000),
  logLevel: text((value, ctx) => {
    if (!(LOG_LEVELS as readonly string[]).includes(value))
      quoting(ctx, 'expected debug, info, warn or error, got {value}', value);
  })
    .transform((level) => level as LogLevel)
    .default('info'),
  /** At most this many windows per job and model are caught up after downtime; older ones are skipped. */
  maxCatchUp: number({ min: 1, integer: true }).default(48),
  /** Attempts per window before it is marked failed and the checkpoint moves past it. */
  maxAttempts: number({ min: 1, integer: true }).default(3),
  /** Time zone of cron expressions. */
  timezone: text((value, ctx) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: value });
    } catch {
      quoting(ctx, 'unknown time zone {value}', value);
    }
  }).default('UTC'),
  /** Serve Prometheus `/metrics` when set (`false` turns it off). */
  metrics: z
    .union([
      z.literal(false).transform(() => undefined),
      object({
        port: number({ min: 0, max: 65535, integer: true }).optional(),
        host: text().default('0.0.0.0'),
      }).superRefine(({ port }, ctx) => {
        if (port === undefined)
          ctx.addIssue({ code: 'custom', message: 'required when scheduler.metrics is set', path: ['port'] });
      }, always),
    ])
    .optional(),
})
  .superRefine(({ lockTtl, heartbeat }, ctx) => {
    const ttl = typeof lockTtl === 'number' ? lockTtl : 60_000;
    if (typeof heartbeat === 'number' && heartbeat >= ttl)
      ctx.addIssue({
        code: 'custom',
        message: `must be shorter than scheduler.lockTtl (${ttl} ms), or a lock expires while held`,
        path: ['heartbeat'],
      });
  }, always)
  .transform(({ owner, heartbeat, lockTtl, shutdownGrace, metrics, ...scheduler }) => ({
    ...scheduler,
    owner: owner ?? `${hostname()}:${process.pid}`,
    lockTtlMs: lockTtl,
    heartbeatMs: heartbeat ?? Math.max(1, Math.floor(lockTtl / 3)),
    shutdownGraceMs: shutdownGrace,
    metrics: metrics as { port: number; host: string } | undefined,
  }));

/**
 * Report jobs (`reports:`): scheduled report e-mails, run by the scheduler as schedules of their own
 * (`report:<name>`) under the same locks and checkpoints as the analysis jobs. Recipients, sender
 * and namespace default to the file's `smtp.to`, `smtp.from` and `namespace` (applied below).
 */
const reportJobSchema = object({
  /** Identifies the job: in locks and checkpoints (`report:<name>`), metrics and the Message-ID. */
  name: text().optional(),
  /** Model names as logged; one report covers them all. */
  models: stringList(text(), 'required: the model names the report covers').refine(
    (models) => models.length > 0,
    'an empty list reports nothing',
  ),
  namespace: namespace().optional(),
  /** Length of the period a report covers; periods are aligned to multiples of it since the epoch (UTC). */
  period: duration(),
  /** node-cron expression of the passes that look for due periods (default: every 5 minutes at most). */
  cron: text((value, ctx) => {
    if (!validateCron(value)) quoting(ctx, 'not a valid cron expression: {value}', value);
  }).optional(),
  /** A period is reported once this long has passed after its end (let its last windows be analyzed). */
  delay: duration({ allowZero: true }).default(30 * 60_000),
  /** Earliest period to report when no checkpoint exists yet (default: the latest due period only). */
  start: instant().optional(),
  to: stringList(
    text((value, ctx) => {
      if (!/^[^\s@<>]+@[^\s@<>]+$/.test(value)) quoting(ctx, 'not an e-mail address: {value}', value);
    }),
  ).optional(),
  from: text().optional(),
  subjectPrefix: text().optional(),
  /** Reference-versus-current distributions for this many top drifted features per model. */
  topFeatures: number({ min: 0, max: 50, integer: true }).default(3),
  /** Send attempts per run, the first retry after `retryDelay`, doubling up to ten times that. */
  sendAttempts: number({ min: 1, max: 20, integer: true }).default(4),
  retryDelay: duration().default(30_000),
});

const OUTPUT_ROLES = ['label', 'score', 'value', 'probabilities'] as const;
export type OutputRole = (typeof OUTPUT_ROLES)[number];

/**
 * How the tensors of one model server become mlmon's features and prediction (`mlmon collect`,
 * docs/collect.md): matched by the inference service / Seldon deployment name or the model name.
 */
const collectorMappingSchema = object({
  /** The `ce-inferenceservicename` (KServe, Seldon) or model name this mapping is for. */
  match: text(),
  model: object({
    name: text(),
    version: z.union([z.number().transform(String), text()]).optional(),
  }).optional(),
  /** Names of the positional columns of the input rows (V1 instances, V2 [N, F] tensors). */
  features: stringList().optional(),
  /** Output (V1: `predictions`; V2: the output tensor name) → the prediction field it fills. */
  outputs: record(
    text((value, ctx) => {
      if (!(OUTPUT_ROLES as readonly string[]).includes(value))
        quoting(ctx, `expected ${OUTPUT_ROLES.join(', ')}, got {value}`, value);
    }).transform((role) => role as OutputRole),
  ).optional(),
  /** Class names of the columns of a probabilities output (default: the column index). */
  classes: stringList().optional(),
});

/** `mlmon collect`: the HTTP ingest service (docs/collect.md). */
const collectorSchema = object({
  host: text().default('127.0.0.1'),
  port: number({ min: 0, max: 65535, integer: true }).default(8787),
  /** Largest request body, bytes (default 1 MiB); larger → 413. */
  bodyLimit: number({ min: 1024, integer: true }).default(1024 * 1024),
  /** Accepted bearer tokens / API keys; empty: no authentication. */
  tokens: stringList().default([]),
  /** How long the first half of a KServe/Seldon request/response pair waits for the other. */
  pairTimeout: duration().default(30_000),
  /** KServe/Seldon halves one replica writes at once (beyond: 429 on /v1/events only). */
  maxPendingPairs: number({ min: 1, integer: true }).default(10_000),
  /**
   * Memory requests in flight and the logger buffer may hold beyond the idle process, bytes
   * (default 256 MiB); beyond it, 429 (docs/collect.md, "Memory").
   */
  memoryBudget: number({ min: 16 * 1024 * 1024, integer: true }).optional(),
  /** Spool directory (default `.mlmon-spool`) and cap. */
  spoolDir: text().optional(),
  spoolMaxBytes: number({ min: 1024 * 1024, integer: true }).optional(),
  /** When given, events of other models are refused (400 `unknown model`). */
  models: stringList().optional(),
  /**
   * KServe/Seldon model names `<kubernetes namespace>/<name>` when the event carries `ce-namespace`
   * (default true); false: the bare name, as before issue 24 (docs/collect.md).
   */
  namespaceInModelName: z
    .boolean({ error: (issue) => `expected true or false, got ${kindOf(issue.input)}` })
    .default(true),
  /** Model used when neither the event, its headers nor a mapping names one. */
  defaultModel: object({
    name: text(),
    version: z.union([z.number().transform(String), text()]).optional(),
  }).optional(),
  mappings: z
    .array(collectorMappingSchema, {
      error: (issue) => `expected a list of mappings, got ${kindOf(issue.input)}`,
    })
    .default([]),
}).transform(({ pairTimeout, ...collector }) => ({ ...collector, pairTimeoutMs: pairTimeout }));

/** The whole file. */
export const configSchema = object({
  namespace: namespace().default('default'),
  elasticsearch: object({
    url: url().optional(),
    apiKey: text().optional(),
    username: text().optional(),
    password: text().optional(),
    /**
     * Path to a PEM CA certificate. Whether the file is there is checked where it is read
     * (src/elastic/client.ts createClient): one message and exit code for every command, whether
     * the path came from here or from ES_CA_CERT.
     */
    caCert: text().optional(),
    requestTimeout: duration().default(30_000),
  })
    .transform(({ requestTimeout, ...elasticsearch }) => ({
      ...elasticsearch,
      requestTimeoutMs: requestTimeout,
    }))
    .prefault({}),
  kibana: object({ url: url().optional(), apiKey: text().optional() }).prefault({}),
  smtp: object({
    /** `smtp://user:pass@host:587`; a secret as a whole because it may carry credentials. */
    url: url(['smtp:', 'smtps:']).optional(),
    from: text().optional(),
    to: stringList().default([]),
  }).prefault({}),
  scheduler: schedulerSchema.prefault({}),
  collector: collectorSchema.prefault({}),
  models: z
    .array(modelSchema, { error: (issue) => `expected a list of models, got ${kindOf(issue.input)}` })
    .default([]),
  reports: z
    .array(reportJobSchema, {
      error: (issue) => `expected a list of report jobs, got ${kindOf(issue.input)}`,
    })
    .superRefine((reports, ctx) => {
      const seen = new Set<string>();
      reports.forEach((report, i) => {
        if (typeof report?.name !== 'string') return;
        if (seen.has(report.name))
          ctx.addIssue({
            code: 'custom',
            message: `report "${report.name}" is configured twice`,
            path: [i, 'name'],
          });
        seen.add(report.name);
      });
    }, alwaysForList)
    .default([]),
})
  .superRefine((config, ctx) => {
    // The same model twice in one namespace would run every job twice. Models with a problem in
    // their name or schedule are left out: their own problem is reported.
    const models = config.models as unknown as Array<Record<string, unknown>> | undefined;
    if (!Array.isArray(models)) return;
    const broken = new Set<number>();
    for (const issue of ctx.issues)
      if (issue.path?.[0] === 'namespace') broken.add(-1);
      else if (
        issue.path?.[0] === 'models' &&
        ['name', 'window', 'cron', 'every'].includes(String(issue.path[2]))
      )
        broken.add(issue.path[1] as number);
    const defaultNamespace = broken.has(-1) ? 'default' : config.namespace;
    const seen = new Set<string>();
    models.forEach((model, i) => {
      if (broken.has(i) || typeof model?.name !== 'string') return;
      const ns = typeof model.namespace === 'string' ? model.namespace : defaultNamespace;
      const key = `${ns}/${model.name}`;
      if (seen.has(key))
        ctx.addIssue({
          code: 'custom',
          message: `model "${model.name}" in namespace "${ns}" is configured twice`,
          path: ['models', i],
        });
      seen.add(key);
    });
  }, always)
  .superRefine((config, ctx) => {
    const reports = config.reports as unknown as Array<Record<string, unknown>> | undefined;
    if (!Array.isArray(reports)) return;
    const smtpTo = (config.smtp as { to?: unknown } | undefined)?.to;
    reports.forEach((report, i) => {
      if (report && report.to === undefined && !(Array.isArray(smtpTo) && smtpTo.length > 0))
        ctx.addIssue({
          code: 'custom',
          message: 'no recipients: give "to" here or smtp.to',
          path: ['reports', i, 'to'],
        });
    });
  }, always)
  .transform(({ models, reports, ...config }) => ({
    ...config,
    models: models.map(({ namespace, ...model }) => ({ ...model, namespace: namespace ?? config.namespace })),
    reports: reports.map(({ name, namespace, period, cron, delay, to, from, retryDelay, ...report }, i) => ({
      name: name ?? `report-${i + 1}`,
      models: report.models,
      namespace: namespace ?? config.namespace,
      periodMs: period,
      // Every 5 minutes at most: a due period is sent soon after its delay, whatever the period.
      cron: cron ?? intervalToCron(Math.min(period, 5 * 60_000)) ?? '0 */5 * * * *',
      delayMs: delay,
      start: report.start,
      to: to ?? config.smtp.to,
      from: from ?? config.smtp.from ?? 'mlmon@localhost',
      subjectPrefix: report.subjectPrefix,
      topFeatures: report.topFeatures,
      sendAttempts: report.sendAttempts,
      retryDelayMs: retryDelay,
    })),
  }));

/** The configuration as the file gives it (before defaults and conversions). */
export type ConfigInput = z.input<typeof configSchema>;

/** The validated configuration, with defaults applied and durations in milliseconds. */
export type MlmonConfig = z.output<typeof configSchema> & {
  /** Absolute path of the file read, when there was one. */
  source?: string;
};
export type ElasticsearchConfig = MlmonConfig['elasticsearch'];
export type KibanaConfig = MlmonConfig['kibana'];
export type SmtpConfig = MlmonConfig['smtp'];
export type SchedulerConfig = MlmonConfig['scheduler'];
export type MetricsServerConfig = NonNullable<SchedulerConfig['metrics']>;
export type ModelConfig = MlmonConfig['models'][number];
export type JobEntry = ModelConfig['jobs'][number];
export type PerformanceConfig = ModelConfig['performance'];
export type PerformanceBound = PerformanceConfig['bounds'][string];
export type HookConfig = ModelConfig['hooks'][number];
export type ReportJobConfig = MlmonConfig['reports'][number];
export type WebhookConfig = NonNullable<HookConfig['webhook']>;
export type CommandHookConfig = NonNullable<HookConfig['command']>;
export type CollectorConfig = MlmonConfig['collector'];
export type CollectorMapping = CollectorConfig['mappings'][number];
