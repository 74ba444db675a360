/** The `collector` section of the configuration file: defaults, checks, the token variable, redaction. */
import { describe, expect, it } from 'vitest';
import { mappingFor, nodeModelName } from '../../src/collector/cloudevents.js';
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
      namespaceInModelName: true,
      mappings: [],
    });
    expect(c.memoryBudget).toBeUndefined(); // startCollector: 256 MiB
  });

  it('names KServe/Seldon models <namespace>/<name>, or the bare name with namespaceInModelName: false', () => {
    const half = { source: 'kserve', service: 'iris', component: 'predictor', namespace: 'prod' } as const;
    expect(nodeModelName(half, undefined)).toBe('prod/iris');
    expect(nodeModelName(half, 'iris-v2')).toBe('prod/iris-v2'); // a V2 model_name
    expect(nodeModelName({ ...half, namespace: undefined }, undefined)).toBe('iris');
    const c = validateConfig({ collector: { namespaceInModelName: false } }, { env: {} }).collector;
    expect(nodeModelName(half, undefined, c.namespaceInModelName)).toBe('iris');
    // A mapping for one namespace wins over one for every namespace.
    const mappings = [
      { match: 'iris', model: { name: 'any' } },
      { match: 'prod/iris', model: { name: 'prod-iris' } },
    ];
    expect(mappingFor(mappings, half)?.model?.name).toBe('prod-iris');
    expect(mappingFor(mappings, { ...half, namespace: 'dev' })?.model?.name).toBe('any');
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
