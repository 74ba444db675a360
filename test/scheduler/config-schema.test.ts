/**
 * The zod schema behind the configuration (src/schema/config/): problems for the forms a key may
 * take (a job as a name or { name, options }, a command as a list or { run, timeout }), problems in
 * schema order, and defaults derived across keys. test/scheduler/config.test.ts covers the rest.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/schema/config.js';

function problemsOf(input: unknown): Array<[string, string]> {
  try {
    validateConfig(input, { env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => [p.path, p.message]);
  }
  throw new Error('expected a ConfigError');
}

describe('configuration schema', () => {
  it('reports the problems of the form a value has, and a duplicate job next to them', () => {
    expect(
      problemsOf({
        models: [{ name: 'a', window: '1h', jobs: ['drift', 'drift', 3, { nme: 'x' }] }],
      }),
    ).toEqual([
      ['models[0].jobs[1]', 'job "drift" is listed twice'],
      ['models[0].jobs[2]', 'expected a job name or { name, options }, got a number'],
      ['models[0].jobs[3].nme', 'unknown key (did you mean "name"?); allowed: name, options'],
      ['models[0].jobs[3].name', 'required'],
    ]);
  });

  it('hooks: both command forms, a hook that is not an object, and a secret URL never shown', () => {
    expect(
      problemsOf({
        models: [
          {
            name: 'a',
            window: '1h',
            hooks: [
              { command: [] },
              { command: { rn: 'x' } },
              7,
              { webhook: { url: 'ftp://token@ci.example/hook' } },
              { webhook: { url: 'not a url?token=s3cret' } },
            ],
          },
        ],
      }),
    ).toEqual([
      ['models[0].hooks[0].command', 'required: the program and its arguments'],
      ['models[0].hooks[1].command.rn', 'unknown key (did you mean "run"?); allowed: run, timeout'],
      ['models[0].hooks[1].command.run', 'required: the program and its arguments'],
      ['models[0].hooks[2]', 'expected an object, got a number'],
      ['models[0].hooks[3].webhook.url', 'URL scheme must be http or https'],
      ['models[0].hooks[4].webhook.url', 'not a valid URL'],
    ]);
  });

  it('derives defaults across keys: hook names by position, events, command timeout, heartbeat', () => {
    const config = validateConfig(
      {
        scheduler: { lockTtl: '90s' },
        models: [
          { name: 'a', window: '7m', hooks: [{ command: 'retrain.sh' }, { name: 'ci', command: ['x'] }] },
        ],
      },
      { env: {} },
    );
    const [model] = config.models;
    // A 7 min window does not divide an hour: one pass a minute.
    expect(model?.cron).toBe('0 * * * * *');
    expect(model?.hooks).toEqual([
      {
        name: 'hook-1',
        on: ['drift.detected', 'performance.degraded'],
        command: { argv: ['retrain.sh'], timeoutMs: 60_000 },
      },
      {
        name: 'ci',
        on: ['drift.detected', 'performance.degraded'],
        command: { argv: ['x'], timeoutMs: 60_000 },
      },
    ]);
    // heartbeat defaults to a third of lockTtl: 90 s / 3.
    expect(config.scheduler.heartbeatMs).toBe(30_000);
  });
});
