/**
 * `mlmon roles [--namespace N] [--role R] [--out DIR]`: the Elasticsearch role descriptors of
 * mlmon's parts, from src/schema/roles.ts (the source `security/*.json` is generated from). With
 * `--namespace`, each role is confined to that namespace's streams: one key per service that may
 * write and read only its own namespace.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROLE_COMPONENTS, roleDescriptor, roleDescriptors, roleName } from '../../schema/roles.js';
import { choice, defineCommand, namespaceValue, type StringOption } from '../command.js';
import { writeJson } from '../io.js';

const rolesOptions = {
  namespace: {
    type: 'string',
    value: 'N',
    description: 'confine each role to this namespace (default: every namespace)',
    parse: namespaceValue,
  } as const satisfies StringOption,
  role: {
    type: 'string',
    value: '<part>',
    description: "print only this part's descriptor (the body of PUT _security/role/<name>)",
    parse: choice(...ROLE_COMPONENTS),
  } as const satisfies StringOption,
  out: {
    type: 'string',
    value: '<dir>',
    description: 'write one <role name>.json per role into this directory instead of printing',
  } as const satisfies StringOption,
};

export const rolesCommand = defineCommand({
  name: 'roles',
  summary: "print the Elasticsearch role descriptors of mlmon's parts (all namespaces, or one)",
  usage: ['[--namespace N] [--role logger|analyzer|setup|kibana-installer] [--out <dir>]'],
  description: `Print the role descriptors (least privilege) of the logger, the analyzer, setup and the Kibana
installer, as JSON that Elasticsearch's API key and role APIs take as it is. Without --namespace,
over every namespace (what security/*.json ships); with --namespace, confined to that namespace's
streams (mlmon-state and mlmon-baselines are shared by all namespaces).`,
  options: rolesOptions,
  notes: `Without --role the output is an object of role name → descriptor: the "role_descriptors" of
POST _security/api_key, e.g.
  mlmon roles --namespace checkout --role logger > logger.json
  curl -u elastic -H 'Content-Type: application/json' -X POST "$ES_URL/_security/api_key" \\
    -d "{\\"name\\": \\"mlmon-logger-checkout\\", \\"role_descriptors\\": {\\"mlmon-logger-checkout\\": $(cat logger.json)}}"
docs/security.md says why each privilege is there.`,
  run: async (values, io) => {
    const namespace = values.namespace;
    const roles = values.role
      ? { [roleName(values.role, namespace)]: roleDescriptor(values.role, namespace) }
      : roleDescriptors(namespace);
    if (values.out) {
      mkdirSync(values.out, { recursive: true });
      for (const [name, descriptor] of Object.entries(roles)) {
        const file = join(values.out, `${name}.json`);
        writeFileSync(file, `${JSON.stringify(descriptor, null, 2)}\n`);
        io.stdout.write(`${file}\n`);
      }
      return 0;
    }
    writeJson(io, values.role ? Object.values(roles)[0] : roles);
    return 0;
  },
});
