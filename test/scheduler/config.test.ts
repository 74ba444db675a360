import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import {
  ConfigError,
  intervalToCron,
  loadConfig,
  parseConfigText,
  parseDurationOrUndefined as parseDuration,
  redactConfig,
  validateConfig,
} from '../../src/schema/config.js';
import { planWindows } from '../../src/scheduler/windows.js';
import { REPO_ROOT, tempDir } from './helpers.js';

const SECRET = 'sUp3r-s3cret-T0ken';

function problemsOf(input: unknown, env: NodeJS.ProcessEnv = {}): Array<[string, string]> {
  try {
    validateConfig(input, { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => [p.path, p.message]);
  }
  throw new Error('expected a ConfigError');
}

function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

const minimalModel = { name: 'fraud', window: '1h', jobs: ['feature-mean'] };

describe('configuration', () => {
  it('applies defaults and converts durations, intervals and versions', () => {
    const config = validateConfig(
      {
        namespace: 'prod',
        models: [
          { ...minimalModel, versions: [3, '4'], every: '15m', delay: '10m', start: '2026-01-01T00:00:00Z' },
          { name: 'churn', window: '5s', namespace: 'eu', cron: '*/5 * * * * *' },
        ],
      },
      { env: {} },
    );
    expect(config.scheduler).toMatchObject({
      lockTtlMs: 60_000,
      heartbeatMs: 20_000,
      maxCatchUp: 48,
      maxAttempts: 3,
      timezone: 'UTC',
    });
    const [fraud, churn] = config.models;
    expect(fraud).toMatchObject({
      versions: ['3', '4'],
      namespace: 'prod',
      windowMs: 3_600_000,
      delayMs: 600_000,
      cron: '0 */15 * * * *',
    });
    expect(fraud?.start?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(churn).toMatchObject({ versions: 'all', namespace: 'eu', windowMs: 5000, cron: '*/5 * * * * *' });
    // Without `jobs`, the four analysis jobs of the design.
    expect(churn?.jobs.map((j) => j.name)).toEqual(['drift', 'quality', 'performance', 'service']);
  });

  it('parses durations and derives cron expressions only for intervals that line up', () => {
    expect([
      parseDuration('500ms'),
      parseDuration('30s'),
      parseDuration('1.5h'),
      parseDuration('2d'),
    ]).toEqual([500, 30_000, 5_400_000, 172_800_000]);
    expect([parseDuration('10'), parseDuration('5 minutes'), parseDuration('0s')]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect([intervalToCron(10_000), intervalToCron(300_000), intervalToCron(7_200_000)]).toEqual([
      '*/10 * * * * *',
      '0 */5 * * * *',
      '0 0 */2 * * *',
    ]);
    expect([intervalToCron(7000), intervalToCron(420_000), intervalToCron(1500)]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('reports every problem at once, each with the path of its key', () => {
    const problems = problemsOf({
      namespace: 'Prod-EU',
      elasticsearch: { url: 'not a url', requestTimeout: 30 },
      scheduler: { lockTtl: '10s', heartbeat: '10s', maxCatchUp: 0, logLevel: 'loud' },
      models: [
        { name: 'fraud', windw: '1h', every: '7s' },
        { ...minimalModel, cron: 'every monday', hooks: [{ name: 'retrain', on: ['drift.detcted'] }] },
        { ...minimalModel, performance: { bounds: { accuracy: { min: 0.9, max: 0.8 }, rmse: {} } } },
        minimalModel,
      ],
    });
    expect(problems).toEqual([
      ['namespace', expect.stringContaining('no "-"')],
      ['elasticsearch.url', 'not a valid URL: "not a url"'],
      ['elasticsearch.requestTimeout', expect.stringContaining('expected a duration such as')],
      ['scheduler.heartbeat', expect.stringContaining('must be shorter than scheduler.lockTtl (10000 ms)')],
      ['scheduler.logLevel', 'expected debug, info, warn or error, got "loud"'],
      ['scheduler.maxCatchUp', 'must be at least 1, got 0'],
      ['models[0].windw', expect.stringContaining('unknown key (did you mean "window"?)')],
      ['models[0].window', 'required: the window size, e.g. "1h"'],
      ['models[0].every', expect.stringContaining('must divide a minute, an hour or a day evenly')],
      ['models[1].cron', 'not a valid cron expression: "every monday"'],
      ['models[1].hooks[0].on[0]', expect.stringContaining('unknown event "drift.detcted"')],
      ['models[1].hooks[0]', 'a hook needs a "webhook" or a "command"'],
      ['models[2].performance.bounds.accuracy', 'min 0.9 is above max 0.8'],
      ['models[2].performance.bounds.rmse', 'give "min", "max" or both'],
      ['models[3]', 'model "fraud" in namespace "default" is configured twice'],
    ]);
  });

  it('never shows a secret in an error message', () => {
    const message = messageOf(() =>
      validateConfig(
        {
          elasticsearch: { apiKey: 12345, password: ['x'] },
          smtp: { url: `http://user:${SECRET}@mail` },
          models: [
            {
              ...minimalModel,
              hooks: [
                { webhook: { url: `not-a-url?token=${SECRET}`, headers: { authorization: 42 } } },
                {
                  webhook: { url: 'https://ci.example/hook', headers: { authorization: `Bearer ${SECRET}` } },
                  on: 'x',
                },
              ],
            },
          ],
        },
        { env: {} },
      ),
    );
    expect(message).toContain('elasticsearch.apiKey: expected a string, got a number');
    expect(message).toContain('elasticsearch.password: expected a string, got a list');
    expect(message).toContain('smtp.url: URL scheme must be smtp or smtps');
    expect(message).toContain('models[0].hooks[0].webhook.url: not a valid URL');
    expect(message).toContain('models[0].hooks[0].webhook.headers.authorization: expected a string');
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('12345');

    // Parse errors locate the problem but quote nothing of the file.
    const json = `{\n  "elasticsearch": { "apiKey": ${SECRET} }\n}`;
    const jsonMessage = messageOf(() => parseConfigText(json, 'json', 'mlmon.config.json'));
    expect(jsonMessage).toBe(
      'mlmon.config.json: invalid configuration: (file): not valid JSON at line 2, column 32',
    );
    const yaml = `elasticsearch:\n  apiKey: "${SECRET}\n  url: [`;
    const yamlMessage = messageOf(() => parseConfigText(yaml, 'yaml', 'mlmon.config.yaml'));
    expect(yamlMessage).toMatch(
      /^mlmon.config.yaml: invalid configuration: \(file\): not valid YAML at line \d+, column \d+/,
    );
    expect(jsonMessage + yamlMessage).not.toContain(SECRET);
  });

  it('environment variables override the file; ${VAR} pulls secrets from the environment', () => {
    const config = validateConfig(
      {
        elasticsearch: { url: 'http://file-es:9200', apiKey: 'from-file' },
        scheduler: { metrics: { port: 9100 } },
        models: [
          {
            ...minimalModel,
            hooks: [
              {
                webhook: { url: 'https://ci.example/hook', headers: { authorization: 'Bearer ${CI_TOKEN}' } },
              },
            ],
          },
        ],
      },
      {
        env: {
          ES_URL: 'https://env-es:9243',
          ES_API_KEY: SECRET,
          MLMON_NAMESPACE: 'staging',
          MLMON_METRICS_PORT: '9464',
          CI_TOKEN: SECRET,
          SMTP_URL: `smtp://u:${SECRET}@mail:587`,
        },
      },
    );
    expect(config.elasticsearch.url).toBe('https://env-es:9243');
    expect(config.elasticsearch.apiKey).toBe(SECRET);
    expect(config.namespace).toBe('staging');
    expect(config.models[0]?.namespace).toBe('staging');
    expect(config.scheduler.metrics).toEqual({ port: 9464, host: '0.0.0.0' });
    expect(config.models[0]?.hooks[0]?.webhook?.headers).toEqual({ authorization: `Bearer ${SECRET}` });
    // What goes to logs has every secret replaced.
    const logged = JSON.stringify(redactConfig(config));
    expect(logged).not.toContain(SECRET);
    expect(logged).toContain('"apiKey":"(redacted)"');
    expect(logged).toContain('https://env-es:9243');

    expect(problemsOf({ models: [{ ...minimalModel, baseline: '${NOT_SET}' }] })).toEqual([
      ['models[0].baseline', 'environment variable NOT_SET is not set'],
    ]);
    expect(problemsOf({ models: [minimalModel] }, { MLMON_METRICS_PORT: 'ninety' })).toEqual([
      ['scheduler.metrics.port', 'expected a number, got a string'],
    ]);
  });

  it('loads YAML and JSON files; `mlmon schedule` exits 2 naming the bad key', async () => {
    const dir = tempDir('config');
    writeFileSync(
      join(dir, 'mlmon.config.yaml'),
      'models:\n  - name: fraud\n    window: 1h\n    every: 5m\n    jobs: [feature-mean]\n',
    );
    expect(loadConfig(undefined, { cwd: dir, env: {} }).models[0]?.cron).toBe('0 */5 * * * *');
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ models: [{ name: 'fraud', window: 'hourly', jobs: ['feature-mean'] }] }),
    );
    let stderr = '';
    const io = {
      stdout: { write: () => true } as unknown as NodeJS.WritableStream,
      stderr: { write: (s: string) => ((stderr += s), true) } as unknown as NodeJS.WritableStream,
    };
    expect(await run(['schedule', '--config', bad], io)).toBe(2);
    expect(stderr).toBe(
      `mlmon schedule: ${bad}: invalid configuration: models[0].window: expected a duration such as "500ms", "30s", "5m", "1h", "1d", got "hourly"\n`,
    );
    stderr = '';
    const unknownJob = join(dir, 'unknown-job.json');
    writeFileSync(
      unknownJob,
      JSON.stringify({ models: [{ name: 'fraud', window: '1h', jobs: ['drift', 'no-such-job'] }] }),
    );
    expect(await run(['schedule', '--config', unknownJob], io)).toBe(2);
    expect(stderr).toContain('models[0].jobs[1]: unknown job "no-such-job"');
    expect(stderr).toContain(
      '(registered jobs: comparison, drift, feature-mean, performance, quality, report, service)',
    );
  });

  it('the example in docs/configuration.md is valid', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/configuration.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const config = validateConfig(parseConfigText(example as string, 'yaml'), {
      env: { WEBHOOK_TOKEN: 'token', ES_API_KEY: 'key' },
    });
    expect(config.models.length).toBeGreaterThanOrEqual(2);
    expect(config.models.flatMap((m) => m.hooks).length).toBeGreaterThanOrEqual(2);
  });
});

describe('window planning', () => {
  const W = 60_000;
  const at = (minutes: number) => Date.UTC(2026, 0, 1, 12, minutes);

  it('plans the due windows after the checkpoint, oldest first, waiting out the delay', () => {
    // 12:07:30 with a 2 min delay: windows ending by 12:05:30 are due, i.e. up to [12:04, 12:05).
    const plan = planWindows({
      now: at(7) + 30_000,
      windowMs: W,
      delayMs: 120_000,
      maxCatchUp: 100,
      checkpoint: at(2),
    });
    expect(plan.windows.map((w) => new Date(w.start).toISOString().slice(11, 16))).toEqual([
      '12:02',
      '12:03',
      '12:04',
    ]);
    expect(plan.skipped).toBe(0);
  });

  it('bounds catch-up to maxCatchUp windows and says how many it skipped', () => {
    const plan = planWindows({ now: at(30), windowMs: W, delayMs: 0, maxCatchUp: 5, checkpoint: at(10) });
    expect(plan.windows.map((w) => new Date(w.start).toISOString().slice(11, 16))).toEqual([
      '12:25',
      '12:26',
      '12:27',
      '12:28',
      '12:29',
    ]);
    expect(plan.skipped).toBe(15);
  });

  it('starts at the configured start (aligned) when there is no checkpoint yet', () => {
    const plan = planWindows({ now: at(5), windowMs: W, delayMs: 0, maxCatchUp: 48, start: at(2) + 15_000 });
    expect(plan.windows.map((w) => w.start.getTime())).toEqual([at(2), at(3), at(4)]);
  });
});
