/**
 * What Kibana 8.19 accepts, as read from elastic/kibana's source (files and commits below and in
 * kibana/README.md): the keys of its schemas and the migration versions of the types mlmon
 * writes. Facts only; src/kibana/check.ts applies them.
 */

/**
 * Keys Kibana's schemas accept, where they are `@kbn/config-schema` objects with the default
 * `unknowns: 'forbid'` (an extra key is a 400 from the API, or an import error), read from
 * elastic/kibana (kibana/README.md lists the differences these checks found):
 * - dashboard attributes: `dashboard_saved_object/schema/v1/v1.ts` (commit 3c37204bef8a077edf1758caa45474499c2941c7;
 *   model version 2, `typeMigrationVersion` 10.2.0, only adds `controlGroupInput.showApplySelections`,
 *   model versions 3 and 4 — `sections`, `accessControl` — came after 8.19:
 *   `dashboard_saved_object.ts`, commit 04698d03a6525795ce34443b20a85a3dda762d17);
 * - `.es-query` params: `es_query/rule_type_params.ts` (commit 1d100b83174becd63d11ae95e02392c2e34995b3);
 * - `.index-threshold` params: `index_threshold/rule_type_params.ts` (commit 8137d1cdb0b7fa60624f5ecf6ea9fc21cbdebae4)
 *   with triggers_actions_ui's `CoreQueryParamsSchemaProperties`;
 * - `.server-log` params: `connector_types/server_log/index.ts` (commit 0703cc83e8d8e6d265fc6262e964986c61798655);
 * - `.email` config, secrets and params: `connector_types/email/index.ts` (commit fdfeb2bb4dc128420f22ebdb5cffa598b93cd102).
 */
export const KIBANA_KEYS = {
  dashboardAttributes: [
    'title',
    'description',
    'kibanaSavedObjectMeta',
    'timeRestore',
    'timeFrom',
    'timeTo',
    'refreshInterval',
    'controlGroupInput',
    'panelsJSON',
    'optionsJSON',
    'hits',
    'version',
  ],
  esQueryParams: [
    'size',
    'timeWindowSize',
    'excludeHitsFromPreviousRun',
    'timeWindowUnit',
    'threshold',
    'thresholdComparator',
    'aggType',
    'aggField',
    'groupBy',
    'termField',
    'termSize',
    'searchType',
    'timeField',
    'searchConfiguration',
    'esQuery',
    'index',
    'esqlQuery',
    'alertType',
    'sourceFields',
  ],
  indexThresholdParams: [
    'index',
    'timeField',
    'aggType',
    'aggField',
    'groupBy',
    'termField',
    'filterKuery',
    'termSize',
    'timeWindowSize',
    'timeWindowUnit',
    'thresholdComparator',
    'threshold',
  ],
  serverLogParams: ['message', 'level'],
  emailParams: ['to', 'cc', 'bcc', 'subject', 'message', 'messageHTML', 'kibanaFooterLink'],
  emailConfig: [
    'service',
    'host',
    'port',
    'secure',
    'from',
    'hasAuth',
    'tenantId',
    'clientId',
    'oauthTokenUrl',
  ],
  emailSecrets: ['user', 'password', 'clientSecret'],
} as const;

/**
 * `typeMigrationVersion` of each type mlmon writes as Kibana 8.19 exports it (a newer one makes
 * an 8.19 Kibana refuse the import: the object would come from a newer Kibana). Dashboard: model
 * version 2 (see KIBANA_KEYS). The others as in real 8.x exports (kibana/README.md).
 */
export const TYPE_MIGRATION_VERSIONS: Record<string, string> = {
  'index-pattern': '8.0.0',
  lens: '8.9.0',
  visualization: '8.5.0',
  dashboard: '10.2.0',
  links: '10.1.0',
};
/** `coreMigrationVersion` Kibana 8.8 – 9.x exports carry (core's last own document migration). */
export const CORE_MIGRATION_VERSION = '8.8.0';
