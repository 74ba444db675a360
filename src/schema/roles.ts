/**
 * The Elasticsearch role descriptors of mlmon's parts (docs/security.md), built from the stream
 * names of streams.ts: the one source of `security/*.json` (every namespace, `*`; a test holds the
 * files equal to {@link roleDescriptors}) and of `mlmon roles --namespace N`, which confines each
 * role to one namespace's streams for clusters where services must not see each other's data.
 *
 * A descriptor is what Elasticsearch's create-API-key (`role_descriptors`) and create-role APIs
 * take as they are.
 */
import {
  BASELINES_INDEX,
  LOG_STREAM_KINDS,
  logStream,
  pairsIndex,
  processStream,
  RESULT_STREAM_KINDS,
  resultStream,
  STATE_INDEX,
} from './streams.js';

export interface RoleDescriptor {
  cluster: string[];
  indices: Array<{ names: string[]; privileges: string[] }>;
  applications?: Array<{ application: string; privileges: string[]; resources: string[] }>;
  metadata: { description: string; mlmon_component: string; mlmon_version: number; mlmon_namespace?: string };
}

export const ROLE_COMPONENTS = ['analyzer', 'kibana-installer', 'logger', 'setup'] as const;
export type RoleComponent = (typeof ROLE_COMPONENTS)[number];

/** The role's name: `mlmon-logger` over every namespace, `mlmon-logger-staging` for one. */
export function roleName(component: RoleComponent, namespace?: string): string {
  return namespace === undefined ? `mlmon-${component}` : `mlmon-${component}-${namespace}`;
}

const READ = ['read', 'view_index_metadata'];
const UPSERT = ['read', 'view_index_metadata', 'index', 'auto_configure', 'maintenance'];
const DESCRIPTOR_VERSION = 1;

const DESCRIPTIONS: Record<RoleComponent, string> = {
  logger:
    "mlmon logger (winston transport in a model service): appends predictions, outcomes, dead letters and resource samples (metrics-mlmon.process-*) to their data streams, and may look for copies of re-sent documents. `mlmon collect` replicas also pair KServe / Seldon halves through mlmon-pairs-* (create, realtime get, search, delete). Cannot read results, baselines or state, nor change templates. Cluster: two actions, reading index templates (the check before the first write) and nodes info (the version probe of mlmon spool flush), not `monitor` (which would expose _cluster/state: every index's mappings and settings).",
  analyzer:
    "mlmon analyzer and scheduler (mlmon schedule, mlmon analyze, mlmon baseline): reads the prediction and outcome streams, writes result documents (upserts by id), locks, checkpoints and the join's pending outcomes in mlmon-state (deleting a pending outcome once it is joined), and reads and stores baselines. Cannot change templates or delete data. Cluster: three actions, reading component and index templates (mlmon analyze and mlmon baseline check that the installed templates are current, mlmon schedule that the mlmon-state template exists) and nodes info (the version probe of every command), not `monitor` (which would expose _cluster/state: every index's mappings and settings).",
  setup:
    'mlmon setup (run once per upgrade, by an operator): installs and upgrades the component and index templates, rolls the mlmon data streams over onto new mappings and sets their retention. Not for long-running services.',
  'kibana-installer':
    "mlmon kibana install: creates mlmon's data views, dashboards and alert rules (with an e-mail connector) in the default Kibana space. Reads the result streams the dashboards and rules query; writes nothing in Elasticsearch itself. Kibana feature ids are those of Kibana 9.x (dashboard_v2, visualize_v2).",
};

/**
 * One role's descriptor. `namespace` undefined: every namespace (the patterns `logs-mlmon.prediction-*`
 * …, as shipped); else that namespace's streams only. `mlmon-state` and `mlmon-baselines` are one
 * index per cluster whatever the namespace (locks, checkpoints, and baselines kept per model and
 * version), so a confined analyzer still reads and writes them whole.
 */
export function roleDescriptor(component: RoleComponent, namespace?: string): RoleDescriptor {
  const ns = namespace ?? '*';
  const logs = LOG_STREAM_KINDS.map((kind) => logStream(kind, ns));
  const results = RESULT_STREAM_KINDS.map((kind) => resultStream(kind, ns));
  const metadata: RoleDescriptor['metadata'] = {
    description:
      namespace === undefined
        ? DESCRIPTIONS[component]
        : `${DESCRIPTIONS[component]} Confined to the namespace "${namespace}" (mlmon roles --namespace ${namespace}).`,
    mlmon_component: component,
    mlmon_version: DESCRIPTOR_VERSION,
    ...(namespace === undefined ? {} : { mlmon_namespace: namespace }),
  };
  switch (component) {
    case 'logger':
      return {
        // Reading index templates: the check before the first write; nodes info: the version
        // probe of `mlmon spool flush`. Not `monitor`, which would expose _cluster/state.
        cluster: ['indices:admin/index_template/get', 'cluster:monitor/nodes/info'],
        indices: [
          {
            names: [...logs, processStream(ns)],
            privileges: ['create_doc', 'auto_configure', ...READ],
          },
          {
            names: [pairsIndex(ns)],
            privileges: ['create_doc', 'auto_configure', 'read', 'delete', 'view_index_metadata'],
          },
        ],
        metadata,
      };
    case 'analyzer':
      return {
        // analyze and baseline check the installed templates, schedule that mlmon-state's exists;
        // nodes info: every command's version probe. Not `monitor`.
        cluster: [
          'cluster:admin/component_template/get',
          'indices:admin/index_template/get',
          'cluster:monitor/nodes/info',
        ],
        indices: [
          { names: [logStream('prediction', ns), logStream('outcome', ns)], privileges: READ },
          { names: results, privileges: UPSERT },
          // `delete`: the join removes a pending outcome's document once it is joined.
          { names: [STATE_INDEX], privileges: [...UPSERT, 'delete'] },
          { names: [BASELINES_INDEX], privileges: UPSERT },
        ],
        metadata,
      };
    case 'setup':
      return {
        cluster: ['manage_index_templates', 'monitor'],
        indices: [
          {
            names: [...logs, ...results, processStream(ns), STATE_INDEX, BASELINES_INDEX],
            privileges: ['manage', 'view_index_metadata'],
          },
        ],
        metadata,
      };
    case 'kibana-installer':
      return {
        cluster: [],
        indices: [
          {
            names: (['drift', 'quality', 'performance', 'service'] as const).map((kind) =>
              resultStream(kind, ns),
            ),
            privileges: READ,
          },
        ],
        applications: [
          {
            application: 'kibana-.kibana',
            privileges: [
              'feature_dashboard_v2.all',
              'feature_visualize_v2.all',
              'feature_indexPatterns.all',
              'feature_stackAlerts.all',
              'feature_actions.all',
            ],
            resources: ['space:default'],
          },
        ],
        metadata,
      };
  }
}

/** Every role's descriptor by role name: what `role_descriptors` of a create-API-key request takes. */
export function roleDescriptors(namespace?: string): Record<string, RoleDescriptor> {
  return Object.fromEntries(
    ROLE_COMPONENTS.map((c) => [roleName(c, namespace), roleDescriptor(c, namespace)]),
  );
}
