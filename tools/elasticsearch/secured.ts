/**
 * The secured node's set-up (`LocalCluster` with `security: true`): security on, TLS on HTTP (a
 * private CA and a node certificate for 127.0.0.1 made with openssl at first start), and file-realm
 * users: an administrator holding `superuser` and one user per role descriptor in `security/*.json`
 * (generated from src/schema/roles.ts), holding that role; `roles.yml` is written from those files at
 * every start. API keys need analysis filters the integ-test distribution lacks: a test-only plugin
 * (`security/test-plugin/`) supplies them, compiled at the instance's first start.
 *
 * Test and development tooling, outside the published src/ layers.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { jdkMajor, run } from './exec.js';

/** How to connect to a secured local node: its CA and its file-realm users. */
export interface ClusterAccess {
  /** PEM file of the private CA that signed the node's certificate (what `ES_CA_CERT` takes). */
  caCert: string;
  /** A user holding the `superuser` role. */
  username: string;
  password: string;
  /** Password of each user named after a role of `security/*.json` (`mlmon-logger` …), who holds that role. */
  roleUsers: Record<string, string>;
}

/** The role descriptors mlmon ships (`security/*.json`), by role name (the file name). */
export function shippedRoles(): Record<string, object> {
  const dir = fileURLToPath(new URL('../../security/', import.meta.url));
  const roles: Record<string, object> = {};
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort())
    roles[file.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(dir, file), 'utf8')) as object;
  return roles;
}

/**
 * A private CA and a certificate for 127.0.0.1 signed by it, made once per instance with openssl
 * (a second of work; `elasticsearch-certutil` would start a JVM for each of its two steps).
 */
function makeCertificates(dir: string): void {
  if (existsSync(join(dir, 'node.crt'))) return;
  mkdirSync(dir, { recursive: true });
  const at = (file: string) => join(dir, file);
  run(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=mlmon test CA']
      .concat(['-keyout', at('ca.key'), '-out', at('ca.crt')])
      .concat([
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
    'openssl: the test CA',
  );
  run(
    'openssl',
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      at('node.key'),
      '-out',
      at('node.csr'),
    ],
    'openssl: the node key',
  );
  writeFileSync(
    at('node.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  run(
    'openssl',
    [
      'x509',
      '-req',
      '-days',
      '3650',
      '-in',
      at('node.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
    ].concat(['-CAcreateserial', '-out', at('node.crt'), '-extfile', at('node.ext')]),
    'openssl: the node certificate',
  );
}

/**
 * A file-realm password hash in Elasticsearch's PBKDF2 form (`{PBKDF2}<cost>$<salt>$<key>`, HMAC-SHA512,
 * 32-byte salt and key, both base64), which the realm recognises by its prefix. Written here rather
 * than with `bin/elasticsearch-users`, which starts a JVM per user.
 */
function fileRealmHash(password: string): string {
  const salt = randomBytes(32);
  const key = pbkdf2Sync(password, salt, 10_000, 32, 'sha512');
  return `{PBKDF2}10000$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** The instance's CA and users: made at its first secured start and kept, so a restart keeps clients working. */
export function ensureAccess(instance: string): ClusterAccess {
  const file = join(instance, 'access.json');
  const roles = Object.keys(shippedRoles());
  const secret = () => randomBytes(18).toString('base64url');
  let access: ClusterAccess | undefined;
  try {
    access = JSON.parse(readFileSync(file, 'utf8')) as ClusterAccess;
  } catch {
    access = undefined;
  }
  makeCertificates(join(instance, 'certs'));
  access ??= {
    caCert: join(instance, 'certs', 'ca.crt'),
    username: 'mlmon-admin',
    password: secret(),
    roleUsers: {},
  };
  for (const role of roles) access.roleUsers[role] ??= secret();
  writeFileSync(file, JSON.stringify(access, null, 2), { mode: 0o600 });
  return access;
}

/** Writes the security files of a config directory: certificates, roles.yml from security/*.json, users. */
export function writeSecurityConfig(config: string, instance: string, access: ClusterAccess): string[] {
  cpSync(join(instance, 'certs'), join(config, 'certs'), { recursive: true });
  const roles = shippedRoles();
  // YAML is a superset of JSON: each descriptor goes in as it is, under its role name.
  writeFileSync(
    join(config, 'roles.yml'),
    Object.entries(roles)
      .map(([name, descriptor]) => `${name}: ${JSON.stringify(descriptor)}\n`)
      .join(''),
  );
  const users = { [access.username]: access.password, ...access.roleUsers };
  writeFileSync(
    join(config, 'users'),
    Object.entries(users)
      .map(([user, password]) => `${user}:${fileRealmHash(password)}\n`)
      .join(''),
  );
  writeFileSync(
    join(config, 'users_roles'),
    [
      `superuser:${access.username}`,
      ...Object.keys(access.roleUsers).map((role) => `${role}:${role}`),
      '',
    ].join('\n'),
  );
  return [
    'xpack.security.enabled: true',
    'xpack.security.http.ssl.enabled: true',
    'xpack.security.http.ssl.key: certs/node.key',
    'xpack.security.http.ssl.certificate: certs/node.crt',
    'xpack.security.http.ssl.certificate_authorities: [certs/ca.crt]',
    // One node on loopback: nothing travels over the transport layer.
    'xpack.security.transport.ssl.enabled: false',
  ];
}

/**
 * An Elasticsearch home of the instance's own: the distribution's `bin`, `lib` and `modules` linked,
 * and a `plugins` folder holding mlmon's test-only analysis plugin (security/test-plugin: the
 * tokenizer and filters the `.security` index needs, which the integ-test distribution lacks), so
 * that the node can create API keys. Compiled once per instance with the JDK's javac against the
 * distribution's jars; the shared distribution itself is left as it is.
 */
export function homeWithAnalysisPlugin(
  distribution: string,
  instance: string,
  version: string,
  javaHome: string,
): string {
  const home = join(instance, 'home');
  const plugin = join(home, 'plugins', 'mlmon-test-analysis');
  const jar = join(plugin, 'mlmon-test-analysis.jar');
  if (existsSync(jar)) return home;
  rmSync(home, { recursive: true, force: true });
  mkdirSync(plugin, { recursive: true });
  for (const dir of ['bin', 'lib', 'modules']) symlinkSync(join(distribution, dir), join(home, dir));
  const source = fileURLToPath(
    new URL(
      '../../security/test-plugin/org/mlmon/testanalysis/SecurityIndexAnalysisPlugin.java',
      import.meta.url,
    ),
  );
  const classes = join(instance, 'plugin-classes');
  rmSync(classes, { recursive: true, force: true });
  run(
    join(javaHome, 'bin', 'javac'),
    ['-proc:none', '-nowarn', '-cp', `${join(distribution, 'lib')}/*`, '-d', classes, source],
    'javac: the test analysis plugin',
  );
  run(join(javaHome, 'bin', 'jar'), ['cf', jar, '-C', classes, '.'], 'jar: the test analysis plugin');
  writeFileSync(
    join(plugin, 'plugin-descriptor.properties'),
    [
      'description=mlmon tests: the uax_url_email tokenizer and pattern_capture and unique filters the .security index needs',
      'version=1.0.0',
      'name=mlmon-test-analysis',
      'classname=org.mlmon.testanalysis.SecurityIndexAnalysisPlugin',
      `java.version=${jdkMajor(javaHome) ?? 17}`,
      `elasticsearch.version=${version}`,
      '',
    ].join('\n'),
  );
  return home;
}
