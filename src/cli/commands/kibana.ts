import { fileURLToPath } from 'node:url';
import { writeExport } from '../../kibana/export.js';
import { installKibana, type InstallOptions } from '../../kibana/install.js';
import { DEFAULT_ALERT_SETTINGS, type EmailSettings } from '../../kibana/rules.js';
import {
  commaList,
  defineCommand,
  defineCommandGroup,
  EXIT,
  formatOption,
  type OptionSpecs,
  type OptionValues,
  parseOptions,
  positiveNumber,
  UsageError,
} from '../command.js';
import { writeJson } from '../io.js';

/** The repository's kibana/ directory (src/cli/commands and dist/cli/commands are three levels down). */
const KIBANA_DIR = fileURLToPath(new URL('../../../kibana', import.meta.url));

/** A data-quality rate: above 0, below 1. */
function rate(text: string): number {
  const n = positiveNumber(text);
  if (n >= 1) throw new UsageError(`must be a rate below 1, not "${text}"`);
  return n;
}

/** Kibana's rule schedule grammar: a whole number and s, m, h or d. */
function checkInterval(text: string): string {
  if (!/^\d+[smhd]$/.test(text)) throw new UsageError(`must look like 5m or 1h, not "${text}"`);
  return text;
}

const installOptions = {
  space: { type: 'string', value: 'S', description: 'Kibana space (default: the default space)' },
  'ca-cert': { type: 'string', value: 'FILE', description: 'PEM CA certificate (default KIBANA_CA_CERT)' },
  'dry-run': { type: 'boolean', description: 'report what would change, change nothing' },
  format: formatOption,
  'window-minutes': {
    type: 'string',
    value: 'N',
    description: `analysis window; results older than two windows are stale (default ${DEFAULT_ALERT_SETTINGS.windowMinutes})`,
    default: String(DEFAULT_ALERT_SETTINGS.windowMinutes),
    parse: positiveNumber,
  },
  'ingestion-stopped-minutes': {
    type: 'string',
    value: 'N',
    description: `alert when no prediction arrived for N minutes (default ${DEFAULT_ALERT_SETTINGS.ingestionStoppedMinutes})`,
    default: String(DEFAULT_ALERT_SETTINGS.ingestionStoppedMinutes),
    parse: positiveNumber,
  },
  'quality-threshold': {
    type: 'string',
    value: 'R',
    description: `alert when a data-quality rate exceeds R (default ${DEFAULT_ALERT_SETTINGS.qualityRateThreshold})`,
    default: String(DEFAULT_ALERT_SETTINGS.qualityRateThreshold),
    parse: rate,
  },
  'check-interval': {
    type: 'string',
    value: 'I',
    description: `how often Kibana runs the rules (default ${DEFAULT_ALERT_SETTINGS.checkInterval})`,
    default: DEFAULT_ALERT_SETTINGS.checkInterval,
    parse: checkInterval,
  },
  'email-to': {
    type: 'string',
    value: 'ADDR[,ADDR]',
    description:
      'e-mail alerts to these addresses (default ALERT_EMAIL_TO); needs\nSMTP_URL (smtp[s]://user:pass@host:port) and --email-from or SMTP_FROM',
    parse: commaList,
  },
  'email-from': { type: 'string', value: 'ADDR', description: 'sender address (default SMTP_FROM)' },
} as const satisfies OptionSpecs;

/** The e-mail connector's settings from SMTP_URL; usage errors never echo the URL (it may hold a password). */
function emailSettings(to: string[], from: string | undefined, smtpUrl: string | undefined): EmailSettings {
  if (!smtpUrl) throw new UsageError('e-mail alerts need SMTP_URL (smtp://user:pass@host:port)');
  if (!from) throw new UsageError('e-mail alerts need --email-from or SMTP_FROM');
  let u: URL;
  try {
    u = new URL(smtpUrl);
  } catch {
    throw new UsageError('SMTP_URL is not a valid URL');
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:')
    throw new UsageError('SMTP_URL must start with smtp:// or smtps://');
  const secure = u.protocol === 'smtps:';
  return {
    from,
    to,
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(u.username ? { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}),
  };
}

/** What `installKibana` needs, from the options and the environment; every problem is a usage error. */
export function kibanaInstallOptions(
  values: OptionValues<typeof installOptions>,
  env: NodeJS.ProcessEnv = process.env,
): InstallOptions {
  const url = env.KIBANA_URL ?? '';
  if (!url) throw new UsageError('KIBANA_URL is not set');
  const to = values['email-to'] ?? commaList(env.ALERT_EMAIL_TO ?? '');
  const email =
    to.length > 0 ? emailSettings(to, values['email-from'] ?? env.SMTP_FROM, env.SMTP_URL) : undefined;
  return {
    url,
    apiKey: env.KIBANA_API_KEY || undefined,
    username: env.KIBANA_USERNAME || undefined,
    password: env.KIBANA_PASSWORD || undefined,
    space: values.space,
    caCert: values['ca-cert'] ?? (env.KIBANA_CA_CERT || undefined),
    dryRun: values['dry-run'],
    settings: {
      ...DEFAULT_ALERT_SETTINGS,
      windowMinutes: values['window-minutes'],
      ingestionStoppedMinutes: values['ingestion-stopped-minutes'],
      qualityRateThreshold: values['quality-threshold'],
      checkInterval: values['check-interval'],
      ...(email ? { email } : {}),
    },
  };
}

/** `mlmon kibana install` with no options (the demo installs this way). */
export function defaultKibanaInstallOptions(env: NodeJS.ProcessEnv = process.env): InstallOptions {
  const parsed = parseOptions([], installOptions);
  if (parsed.help) throw new Error('unreachable: no arguments cannot ask for help');
  return kibanaInstallOptions(parsed.values, env);
}

export const kibanaInstallCommand = defineCommand({
  name: 'kibana install',
  summary: "import mlmon's data views, dashboards, connectors and alert rules into Kibana",
  usage: ['[--space S] [--dry-run] [--format table|json] [alert options]'],
  description: `Imports mlmon's data views, dashboards and visualizations into Kibana at KIBANA_URL (overwriting
mlmon's own objects), and creates or updates its connectors and alert rules.
Auth: KIBANA_API_KEY, or KIBANA_USERNAME and KIBANA_PASSWORD. TLS CA: KIBANA_CA_CERT.`,
  options: installOptions,
  notes: 'The SMTP URL may hold a password: it never appears in output or errors.',
  run: async (values, io) => {
    const report = await installKibana(kibanaInstallOptions(values));
    if (values.format === 'json') {
      writeJson(io, report);
      return EXIT.ok;
    }
    io.stdout.write(
      `Kibana ${report.kibana}, space ${report.space}${report.dryRun ? ' (dry run: nothing changed)' : ''}\n`,
    );
    for (const i of report.items)
      io.stdout.write(`  ${i.action.padEnd(9)} ${i.kind.padEnd(12)} ${i.id}  ${i.title}\n`);
    const c = report.counts;
    io.stdout.write(`${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged\n`);
    return EXIT.ok;
  },
});

export const kibanaExportCommand = defineCommand({
  name: 'kibana export',
  summary: 'regenerate kibana/mlmon.ndjson, kibana/rules/*.json and kibana/connectors/*.json',
  usage: ['[--dir kibana] [--format table|json]'],
  description: `Writes the saved objects (data views, visualizations, dashboards) as one NDJSON file and the
alert rules and connectors as JSON files, generated from code with the default alert settings.`,
  options: {
    dir: {
      type: 'string',
      value: 'DIR',
      description: "where to write (default: the repository's kibana/ directory)",
      default: KIBANA_DIR,
    },
    format: formatOption,
  },
  run: async (values, io) => {
    const files = await writeExport(values.dir);
    if (values.format === 'json') writeJson(io, { dir: values.dir, files });
    else io.stdout.write(`wrote ${files.length} files under ${values.dir}\n`);
    return EXIT.ok;
  },
});

export const kibanaCommand = defineCommandGroup({
  name: 'kibana',
  summary: 'import dashboards, data views, connectors and alert rules into Kibana (install | export)',
  description: `Kibana objects for mlmon's result streams: install them into a Kibana, or export them as files
(kibana/ in the repository, importable by hand).`,
  subcommands: { install: kibanaInstallCommand, export: kibanaExportCommand },
});
