/** The `collector` section of the configuration file: defaults, checks, the token variable, redaction. */
import { describe, expect, it } from 'vitest';
import { ConfigError, redactConfig, validateConfig } from '../../src/schema/config.js';

describe('collector configuration', () => {
  it('has documented defaults (docs/collect.md)', () => {
    const c = validateConfig({}, { env: {} }).collector;
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      bodyLimit: 1048576,
      tokens: [],
      pairTimeoutMs: 30_000,
      maxPendingPairs: 10_000,
      mappings: [],
    });
  });

  it('names each bad key by its path', () => {
    let error: unknown;
    try {
      validateConfig(
        {
          collector: {
            port: 70000,
            pairTimeout: 'soon',
            mappings: [{ match: 'm', outputs: { p: 'guess' } }],
          },
        },
        { env: {} },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).problems.map((p) => p.path);
    expect(paths).toEqual(['collector.port', 'collector.pairTimeout', 'collector.mappings[0].outputs.p']);
  });

  it('takes MLMON_COLLECT_TOKEN and never shows a token in the redacted copy', () => {
    const config = validateConfig(
      { collector: { tokens: ['from-file'] } },
      { env: { MLMON_COLLECT_TOKEN: 'from-env' } },
    );
    expect(config.collector.tokens).toEqual(['from-env']);
    expect(JSON.stringify(redactConfig(config))).not.toContain('from-env');
  });
});
