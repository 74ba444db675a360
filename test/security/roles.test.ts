/**
 * The role descriptors in security/*.json (docs/security.md): each must cover every index its
 * component touches and nothing more.
 *
 * - Statically, always: the index names each component uses are taken from the code that uses them
 *   (the logger's own index names, the analyzer's `streamNames`, the state and baseline index
 *   constants) and from src/schema/streams.ts; every one must match a pattern of the descriptor with
 *   the privileges the component's requests need (from Elasticsearch's security privileges
 *   reference: bulk `create` into a data stream needs `create_doc` + `auto_configure`; upserts by id
 *   need `index`; `_refresh` needs `maintenance`; `_resolve/index` and `_field_caps` need
 *   `view_index_metadata`), every pattern must be exactly one of streams.ts's patterns or index
 *   names, and no privilege outside the component's allow-list may appear.
 * - Live, on the secured node `npm run test:security` starts (roles.yml written from these very
 *   files, one file-realm user per role): `_has_privileges` as each role's user must say yes to what
 *   the component needs and no to a wider set. Never skipped: without a secured node it fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { LoggerCore } from '../../src/logger/core.js';
import { roleDescriptors } from '../../src/schema/roles.js';
import {
  BASELINES_INDEX,
  LOG_STREAM_KINDS,
  RESULT_STREAM_KINDS,
  STATE_INDEX,
  logStream,
  pairsIndex,
  processStream,
  streamNames,
  resultStream,
  streamPattern,
} from '../../src/schema/streams.js';
import { testClient, testConnection } from '../helpers/es.js';

interface IndexPrivileges {
  names: string[];
  privileges: string[];
}
interface RoleDescriptor {
  cluster: string[];
  indices: IndexPrivileges[];
  applications?: Array<{ application: string; privileges: string[]; resources: string[] }>;
  metadata: { description: string; mlmon_component: string };
}

const load = (name: string): RoleDescriptor =>
  JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../security/${name}.json`, import.meta.url)), 'utf8'),
  ) as RoleDescriptor;

/** Elasticsearch index-pattern matching for the `*` wildcard the descriptors use. */
function matches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}

/** Privileges the descriptor grants on a concrete index name (union over matching entries). */
function granted(role: RoleDescriptor, index: string): Set<string> {
  return new Set(
    role.indices.filter((e) => e.names.some((p) => matches(p, index))).flatMap((e) => e.privileges),
  );
}

const NS = 'prod';
// no node: nothing is sent, only its index names are read
const logger = new LoggerCore({ namespace: NS, model: { name: 'security-check', version: '1' } });
const loggerIndices = [
  logger.predictionIndex,
  logger.outcomeIndex,
  logger.deadLetterIndex,
  logger.processIndex,
];
const analyzer = streamNames(NS);
const WRITE_STREAM = ['create_doc', 'auto_configure'];
const READ = ['read', 'view_index_metadata'];
const UPSERT = ['read', 'view_index_metadata', 'index', 'auto_configure', 'maintenance'];

/** What each component needs, per concrete index name, and the privileges it may hold at most. */
const NEEDS: Record<
  string,
  {
    cluster: string[];
    needs: Array<[string, string[]]>;
    allowed: string[];
    applications?: boolean;
    /** Privileges beyond the need that the role holds knowingly, stated in docs/security.md. */
    stated?: string[];
  }
> = {
  'mlmon-logger': {
    // The logger checks that the templates exist before its first write (HEAD _index_template/…) and
    // `mlmon spool flush` asks the server's version (nodes info): those two actions, not `monitor`,
    // which would also expose _cluster/state (every index's mappings and settings, .security's too).
    cluster: ['indices:admin/index_template/get', 'cluster:monitor/nodes/info'],
    needs: [
      ...loggerIndices.map((index) => [index, [...WRITE_STREAM, ...READ]] as [string, string[]]),
      // `mlmon collect` pairs KServe / Seldon halves there: create, realtime get, search, delete.
      [pairsIndex(NS), [...WRITE_STREAM, ...READ, 'delete']],
    ],
    allowed: [...WRITE_STREAM, ...READ, 'delete'],
  },
  'mlmon-analyzer': {
    // analyze and baseline check that the installed templates are current (GET _component_template
    // and _index_template, templates.ts installedVersion), the scheduler that mlmon-state's exists,
    // and every command asks the server's version (nodes info): three actions, not `monitor`
    // (which would expose _cluster/state). The capabilities probe (src/elastic/capabilities.ts) is
    // a search on the prediction stream: an index privilege.
    cluster: [
      'cluster:admin/component_template/get',
      'indices:admin/index_template/get',
      'cluster:monitor/nodes/info',
    ],
    needs: [
      [analyzer.prediction, READ],
      [analyzer.outcome, READ],
      ...(['drift', 'quality', 'performance', 'service', 'evaluation'] as const).map(
        (kind) => [resultStream(kind, NS), UPSERT] as [string, string[]],
      ),
      [analyzer.evaluation, UPSERT],
      [analyzer.performance, UPSERT],
      [analyzer.service, UPSERT],
      // the join deletes a pending outcome's document once it is joined (analyzer/join-pending.ts)
      [analyzer.state, [...UPSERT, 'delete']],
      [STATE_INDEX, [...UPSERT, 'delete']],
      [BASELINES_INDEX, UPSERT],
    ],
    allowed: [...UPSERT, 'delete'],
  },
  'mlmon-setup': {
    cluster: ['manage_index_templates', 'monitor'],
    needs: [
      ...LOG_STREAM_KINDS.map((kind) => [logStream(kind, NS), ['manage']] as [string, string[]]),
      ...RESULT_STREAM_KINDS.map((kind) => [resultStream(kind, NS), ['manage']] as [string, string[]]),
      [processStream(NS), ['manage']],
      [STATE_INDEX, ['manage']],
      [BASELINES_INDEX, ['manage']],
    ],
    allowed: ['manage', 'view_index_metadata'],
    // Rolling a stream over onto new mappings needs `manage` (Elasticsearch's rollover API), and
    // `manage` includes deleting indices: stated in docs/security.md, checked live below.
    stated: ['delete_index'],
  },
  'mlmon-kibana-installer': {
    cluster: [],
    needs: (['drift', 'quality', 'performance', 'service'] as const).map((kind) => [
      resultStream(kind, NS),
      READ,
    ]),
    allowed: READ,
    applications: true,
  },
};

/** Every index-name pattern a descriptor may use: one of streams.ts's, nothing broader. */
const KNOWN_PATTERNS = new Set<string>([
  ...LOG_STREAM_KINDS.map(streamPattern),
  ...RESULT_STREAM_KINDS.map(streamPattern),
  streamPattern('process'),
  STATE_INDEX,
  BASELINES_INDEX,
  pairsIndex('*'),
]);

describe('role descriptors, statically against the code', () => {
  afterAll(async () => {
    await logger.close();
  });

  it('the code uses the names of src/schema/streams.ts', () => {
    expect(loggerIndices).toEqual([
      logStream('prediction', NS),
      logStream('outcome', NS),
      logStream('deadletter', NS),
      processStream(NS),
    ]);
    expect(analyzer.state).toBe(STATE_INDEX);
  });

  for (const [name, spec] of Object.entries(NEEDS)) {
    it(`${name}: covers every index its component uses, with the needed privileges, and nothing more`, () => {
      const role = load(name);
      expect(role.metadata.mlmon_component.length).toBeGreaterThan(0);
      expect([...role.cluster].sort()).toEqual([...spec.cluster].sort());
      // sufficient
      for (const [index, privileges] of spec.needs) {
        const has = granted(role, index);
        for (const p of privileges) expect(has.has(p), `${name} lacks ${p} on ${index}`).toBe(true);
      }
      // no wider: only streams.ts patterns, only used ones, only allowed privileges
      const used = new Set(spec.needs.map(([index]) => index));
      for (const entry of role.indices) {
        for (const pattern of entry.names) {
          expect(KNOWN_PATTERNS.has(pattern), `${name}: ${pattern} is not a streams.ts pattern`).toBe(true);
          expect(
            [...used].some((index) => matches(pattern, index)),
            `${name}: ${pattern} matches no index the component uses`,
          ).toBe(true);
        }
        for (const p of entry.privileges) {
          expect(spec.allowed, `${name}: ${p} is wider than needed`).toContain(p);
        }
      }
      // indices of other components stay out of reach
      for (const other of [...KNOWN_PATTERNS].map((p) => p.replace('*', NS))) {
        if (!used.has(other)) expect(granted(role, other).size, `${name} reaches ${other}`).toBe(0);
      }
      expect(granted(role, 'logs-other-prod').size).toBe(0);
      expect(granted(role, '.kibana').size).toBe(0);
      if (spec.applications) {
        const apps = role.applications ?? [];
        expect(apps.map((a) => a.application)).toEqual(['kibana-.kibana']);
        for (const a of apps) {
          expect(a.resources).toEqual(['space:default']);
          // feature privileges only; no base `all` (which would grant every Kibana feature)
          for (const p of a.privileges) expect(p).toMatch(/^feature_[A-Za-z0-9_]+\.(all|read)$/);
        }
      } else {
        expect(role.applications ?? []).toEqual([]);
      }
    });
  }
});

describe('one source of truth: src/schema/roles.ts (mlmon roles)', () => {
  it('security/*.json holds what roleDescriptors() builds, nothing else', () => {
    const dir = fileURLToPath(new URL('../../security/', import.meta.url));
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    const built = roleDescriptors();
    expect(files.sort()).toEqual(Object.keys(built).sort());
    for (const [name, descriptor] of Object.entries(built)) expect(load(name), name).toEqual(descriptor);
  });

  it('mlmon roles --namespace a: each role reaches what it needs in namespace a, nothing of namespace b', () => {
    const confined = roleDescriptors('a');
    const shared = new Set([STATE_INDEX, BASELINES_INDEX]);
    const inNamespace = (index: string, ns: string) =>
      index.endsWith(`-${NS}`) ? `${index.slice(0, -NS.length)}${ns}` : index;
    for (const [name, spec] of Object.entries(NEEDS)) {
      const role = confined[`${name}-a`] as unknown as RoleDescriptor;
      expect(role, name).toBeDefined();
      expect(role.cluster).toEqual(load(name).cluster);
      for (const [index, privileges] of spec.needs) {
        const has = granted(role, inNamespace(index, 'a'));
        for (const p of privileges)
          expect(has.has(p), `${name}-a lacks ${p} on ${inNamespace(index, 'a')}`).toBe(true);
        if (!shared.has(index))
          expect(
            granted(role, inNamespace(index, 'b')).size,
            `${name}-a reaches ${inNamespace(index, 'b')}`,
          ).toBe(0);
      }
      // exact names, no wildcard: "a*" would also match a namespace "ab"
      for (const entry of role.indices) for (const n of entry.names) expect(n).not.toContain('*');
    }
  });
});

describe('role descriptors, live on a secured node (file-realm users holding the shipped roles)', () => {
  const client = testClient();
  afterAll(async () => {
    await client.close();
  });

  it('each role grants what its component needs and refuses a wider set', async () => {
    const access = inject('esAccess');
    expect(access, 'test/security needs a secured node (npm run test:security)').not.toBeNull();
    const url = (client.connectionPool.connections[0] as { url: URL }).url;
    for (const [name, spec] of Object.entries(NEEDS)) {
      const password = access?.roleUsers[name];
      expect(password, `no user holds ${name} (MLMON_ES_ACCESS for an external node)`).toBeDefined();
      const as = new Client({
        node: url.origin,
        ...testConnection(),
        auth: { username: name, password: password ?? '' },
      });
      try {
        const me = await as.security.authenticate();
        expect(me.roles).toEqual([name]);
        const needed = await as.security.hasPrivileges({
          cluster: spec.cluster,
          index: spec.needs.map(([names, privileges]) => ({ names: [names], privileges })),
        });
        expect(needed.has_all_requested, `${name} is not sufficient`).toBe(true);
        const wider = await as.security.hasPrivileges({
          cluster: ['manage_security', 'all'],
          index: [
            { names: spec.needs.map(([n]) => n), privileges: ['delete_index'] },
            {
              names: spec.needs.filter(([, p]) => !p.includes('delete')).map(([n]) => n),
              privileges: ['delete'],
            },
            { names: ['logs-other-prod', '.kibana'], privileges: ['read'] },
          ],
        });
        expect(Object.values(wider.cluster).some(Boolean), `${name} has cluster admin`).toBe(false);
        for (const [index, perIndex] of Object.entries(wider.index)) {
          const held = Object.entries(perIndex)
            .filter(([, yes]) => yes)
            .map(([privilege]) => privilege);
          const expected = index === 'logs-other-prod' || index === '.kibana' ? [] : (spec.stated ?? []);
          expect(held, `${name} on ${index}: wider than needed and stated`).toEqual(expected);
        }
      } finally {
        await as.close();
      }
    }
  });
});
