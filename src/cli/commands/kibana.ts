import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeExport } from '../../kibana/export.js';
import { installKibana, type InstallOptions } from '../../kibana/install.js';
import { DEFAULT_ALERT_SETTINGS, type AlertSettings, type EmailSettings } from '../../kibana/rules.js';
import { exitCodesHelp } from '../command.js';
import { type CommandIO, UsageError, writeJson } from '../io.js';

const HELP = `Usage: mlmon kibana install [--space S] [--dry-run] [--format table|json] [alert options]
       mlmon kibana export [--dir kibana]

install  imports mlmon's data views, dashboards and visualizations into Kibana at KIBANA_URL
         (overwriting mlmon's own objects), and creates or updates its connectors and alert rules.
         Auth: KIBANA_API_KEY, or KIBANA_USERNAME and KIBANA_PASSWORD. TLS CA: KIBANA_CA_CERT.
export   regenerates kibana/mlmon.ndjson, kibana/rules/*.json and kibana/connectors/*.json.

  --space S                      Kibana space (default: the default space)
  --ca-cert FILE                 PEM CA certificate (default KIBANA_CA_CERT)
  --dry-run                      report what would change, change nothing
  --format json                  machine-readable report
  --window-minutes N             analysis window; results older than two windows are stale (default 60)
  --ingestion-stopped-minutes N  alert when no prediction arrived for N minutes (default 15)
  --quality-threshold R          alert when a data-quality rate exceeds R (default 0.05)
  --check-interval I             how often Kibana runs the rules (default 5m)
  --email-to ADDR[,ADDR]         e-mail alerts to these addresses (default ALERT_EMAIL_TO); needs
                                 SMTP_URL (smtp[s]://user:pass@host:port) and --email-from or SMTP_FROM
  --email-from ADDR              sender address
`;

export interface KibanaCommandArgs {
  subcommand: 'install' | 'export';
  help: boolean;
  format: 'table' | 'json';
  dir: string;
  install: InstallOptions;
}

function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number`);
  return n;
}

/**
 * Every option of `mlmon kibana`, from arguments and environment, in one place (the CLI's shared
 * command layer can take it over as it is).
 */
export function parseKibanaArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): KibanaCommandArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      space: { type: 'string' },
      'ca-cert': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      format: { type: 'string', default: 'table' },
      dir: { type: 'string' },
      'window-minutes': { type: 'string' },
      'ingestion-stopped-minutes': { type: 'string' },
      'quality-threshold': { type: 'string' },
      'check-interval': { type: 'string' },
      'email-to': { type: 'string' },
      'email-from': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const help = values.help === true;
  const subcommand = positionals[0];
  if (!help && subcommand !== 'install' && subcommand !== 'export')
    throw new UsageError('expected "install" or "export" (see --help)');
  if (values.format !== 'table' && values.format !== 'json')
    throw new UsageError('--format must be table or json');
  const checkInterval = values['check-interval'] ?? DEFAULT_ALERT_SETTINGS.checkInterval;
  if (!/^\d+[smhd]$/.test(checkInterval)) throw new UsageError('--check-interval must look like 5m or 1h');
  const quality = positiveNumber(
    'quality-threshold',
    values['quality-threshold'],
    DEFAULT_ALERT_SETTINGS.qualityRateThreshold,
  );
  if (quality >= 1) throw new UsageError('--quality-threshold is a rate below 1');

  const to = (values['email-to'] ?? env.ALERT_EMAIL_TO ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  let email: EmailSettings | undefined;
  if (to.length > 0) {
    const smtp = env.SMTP_URL;
    const from = values['email-from'] ?? env.SMTP_FROM;
    if (!smtp) throw new UsageError('e-mail alerts need SMTP_URL (smtp://user:pass@host:port)');
    if (!from) throw new UsageError('e-mail alerts need --email-from or SMTP_FROM');
    let u: URL;
    try {
      u = new URL(smtp);
    } catch {
      throw new UsageError('SMTP_URL is not a valid URL'); // the value may hold a password: not echoed
    }
    if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:')
      throw new UsageError('SMTP_URL must start with smtp:// or smtps://');
    const secure = u.protocol === 'smtps:';
    email = {
      from,
      to,
      host: u.hostname,
      port: u.port ? Number(u.port) : secure ? 465 : 587,
      secure,
      ...(u.username
        ? { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) }
        : {}),
    };
  }
  const settings: AlertSettings = {
    ...DEFAULT_ALERT_SETTINGS,
    windowMinutes: positiveNumber(
      'window-minutes',
      values['window-minutes'],
      DEFAULT_ALERT_SETTINGS.windowMinutes,
    ),
    ingestionStoppedMinutes: positiveNumber(
      'ingestion-stopped-minutes',
      values['ingestion-stopped-minutes'],
      DEFAULT_ALERT_SETTINGS.ingestionStoppedMinutes,
    ),
    qualityRateThreshold: quality,
    checkInterval,
    ...(email ? { email } : {}),
  };
  const url = env.KIBANA_URL ?? '';
  if (!help && subcommand === 'install' && !url) throw new UsageError('KIBANA_URL is not set');
  return {
    subcommand: (subcommand ?? 'install') as 'install' | 'export',
    help,
    format: values.format,
    dir: values.dir ?? fileURLToPath(new URL('../../../kibana', import.meta.url)),
    install: {
      url,
      apiKey: env.KIBANA_API_KEY || undefined,
      username: env.KIBANA_USERNAME || undefined,
      password: env.KIBANA_PASSWORD || undefined,
      space: values.space,
      caCert: values['ca-cert'] ?? (env.KIBANA_CA_CERT || undefined),
      dryRun: values['dry-run'],
      settings,
    },
  };
}

export async function kibanaCommand(argv: string[], io: CommandIO): Promise<number> {
  const args = parseKibanaArgs(argv);
  if (args.help) {
    io.stdout.write(`${HELP}\n${exitCodesHelp()}`);
    return 0;
  }
  if (args.subcommand === 'export') {
    const files = await writeExport(args.dir);
    if (args.format === 'json') writeJson(io, { dir: args.dir, files });
    else io.stdout.write(`wrote ${files.length} files under ${args.dir}\n`);
    return 0;
  }
  const report = await installKibana(args.install);
  if (args.format === 'json') {
    writeJson(io, report);
    return 0;
  }
  io.stdout.write(
    `Kibana ${report.kibana}, space ${report.space}${report.dryRun ? ' (dry run: nothing changed)' : ''}\n`,
  );
  for (const i of report.items)
    io.stdout.write(`  ${i.action.padEnd(9)} ${i.kind.padEnd(12)} ${i.id}  ${i.title}\n`);
  const c = report.counts;
  io.stdout.write(`${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged\n`);
  return 0;
}
