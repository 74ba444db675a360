import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseTime, WindowError } from '../../analyzer/windows.js';
import { checkConnection, createClient } from '../../elastic/client.js';
import { buildMessage, buildReport, redactSmtp, reportHtmlFile, sendMessage } from '../../report/index.js';
import type { MetricBound } from '../../report/types.js';
import { CONFIG_FILE_NAMES, ConfigError, loadConfig, type MlmonConfig } from '../../schema/config.js';
import { DEFAULT_NAMESPACE } from '../../schema/streams.js';
import {
  defineCommand,
  durationValue,
  EXIT,
  formatOption,
  nonNegativeInteger,
  oneLine,
  type OptionSpecs,
  type OptionValues,
  UsageError,
  namespaceValue,
} from '../command.js';
import { type CommandIO, writeJson } from '../io.js';

/**
 * `--from` and `--to` stay text here: `--to` is also a recipient, and times such as `now-1d` are
 * resolved against one `now` in `reportArguments` (which tests pass).
 */
export const reportOptions = {
  model: {
    type: 'string',
    value: 'M',
    description: 'model name as logged',
    required: true,
    multiple: true,
  },
  last: {
    type: 'string',
    value: 'D',
    description: 'the period that ends now: 24h, 7d, ...',
    parse: durationValue,
  },
  from: { type: 'string', value: 'T', description: 'start of the period [from, to): ISO 8601, now, now-1d' },
  to: {
    type: 'string',
    value: 'T|ADDR',
    description:
      'end of the period (a time), or e-mail the report to ADDR (an address: repeat, or\ncomma-separated; default: smtp.to)',
    multiple: true,
  },
  namespace: {
    type: 'string',
    value: 'N',
    description: `data stream namespace (default: the config's, else ${DEFAULT_NAMESPACE})`,
    parse: namespaceValue,
  },
  out: {
    type: 'string',
    value: 'FILE',
    description: 'write one self-contained HTML file (charts embedded; opens offline)',
  },
  'subject-prefix': {
    type: 'string',
    value: 'P',
    description: 'put P before the subject, e.g. "[mlmon prod]"',
  },
  'mail-from': {
    type: 'string',
    value: 'ADDR',
    description: 'sender (default: smtp.from, else mlmon@localhost)',
  },
  config: {
    type: 'string',
    short: 'c',
    value: 'PATH',
    description:
      'configuration file (default: mlmon.config.json/.yaml here, when present):\nsmtp.url/from/to, elasticsearch.*, and models[].performance.bounds',
  },
  top: {
    type: 'string',
    value: 'N',
    description: 'reference-vs-current distributions for the N top drifted features (default 3)',
    parse: nonNegativeInteger,
  },
  format: { ...formatOption, description: 'output format (default table); json prints the report data' },
} as const satisfies OptionSpecs;

export interface ReportArguments {
  models: string[];
  namespace?: string;
  period: { start: Date; end: Date };
  out?: string;
  to: string[];
  subjectPrefix?: string;
  mailFrom?: string;
  config?: string;
  top?: number;
  format: 'table' | 'json';
}

function timeOption(name: string, text: string, now: Date): Date {
  try {
    return parseTime(text, now);
  } catch (error) {
    if (error instanceof WindowError) throw new UsageError(`--${name}: ${error.message}`);
    throw error;
  }
}

/** The parsed options → the report's arguments, the period resolved against `now`. */
export function reportArguments(
  values: OptionValues<typeof reportOptions>,
  now: Date = new Date(),
): ReportArguments {
  const models = values.model.map((m) => m.trim()).filter(Boolean);
  if (models.length === 0) throw new UsageError('--model is required (repeat it for several models)');
  // `--to` is both the period's end (a time) and a recipient (an address): an @ decides.
  const recipients = values.to
    .filter((v) => v.includes('@'))
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const periodTo = values.to.filter((v) => !v.includes('@'));
  if (periodTo.length > 1) throw new UsageError('--to as the end of the period is given twice');
  for (const text of periodTo) {
    try {
      parseTime(text, now);
    } catch (error) {
      if (!(error instanceof WindowError)) throw error;
      // A date gone wrong (2026-02-30) gets the date's message; anything else was no time at all.
      if (/^\s*(\d|now)/.test(text)) throw new UsageError(`--to: ${error.message}`);
      throw new UsageError(
        `--to: "${text}" is neither a time (ISO 8601 such as 2026-05-01, now, now-1d) nor an e-mail address (name@host)`,
      );
    }
  }
  for (const address of recipients)
    if (!/^[^@\s]+@[^@\s]+$/.test(address))
      throw new UsageError(`--to: "${address}" is not an e-mail address (name@host)`);
  let period: { start: Date; end: Date };
  if (values.last !== undefined) {
    if (values.from !== undefined || periodTo.length > 0)
      throw new UsageError('give --last, or --from and --to, not both');
    period = { start: new Date(now.getTime() - values.last), end: now };
  } else {
    if (values.from === undefined || periodTo.length === 0)
      throw new UsageError('give the period: --last 24h, or --from T --to T');
    period = {
      start: timeOption('from', values.from, now),
      end: timeOption('to', periodTo[0] as string, now),
    };
  }
  if (!(period.end > period.start)) throw new UsageError('the period must end after it starts');
  return {
    models,
    namespace: values.namespace,
    period,
    out: values.out,
    to: recipients,
    subjectPrefix: values['subject-prefix'],
    mailFrom: values['mail-from'],
    config: values.config,
    top: values.top,
    format: values.format,
  };
}

function configFor(path: string | undefined): MlmonConfig | undefined {
  const present = path !== undefined || CONFIG_FILE_NAMES.some((n) => existsSync(resolve(n)));
  if (!present) return undefined;
  try {
    return loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/** `--out` must go into a directory that exists: said before the report is built, not as a raw ENOENT after. */
function checkOutputPath(path: string): void {
  const dir = dirname(resolve(path));
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UsageError(`--out: the directory ${dir} does not exist`);
  }
  if (!isDir) throw new UsageError(`--out: ${dir} is not a directory`);
  if (existsSync(path) && statSync(path).isDirectory())
    throw new UsageError(`--out: ${path} is a directory; give a file name such as report.html`);
}

async function runReport(args: ReportArguments, io: CommandIO): Promise<number> {
  const config = configFor(args.config);
  const smtpUrl = process.env.SMTP_URL || config?.smtp.url;
  const recipients = args.to.length > 0 ? args.to : (config?.smtp.to ?? []);
  const mail = smtpUrl !== undefined && recipients.length > 0;
  if (args.to.length > 0 && !smtpUrl)
    throw new UsageError('--to needs an SMTP server: set SMTP_URL (smtp://user:pass@host:587) or smtp.url');
  if (!args.out && !mail && args.format !== 'json')
    throw new UsageError(
      'nothing to do: give --out file.html, --to recipients (with SMTP_URL), or --format json',
    );
  if (args.out !== undefined) checkOutputPath(args.out);
  const namespace = args.namespace ?? config?.namespace ?? DEFAULT_NAMESPACE;
  const bounds: Record<string, Record<string, MetricBound>> = {};
  for (const m of config?.models ?? [])
    if (m.namespace === namespace && args.models.includes(m.name)) bounds[m.name] = m.performance.bounds;

  const es = config?.elasticsearch;
  const client = createClient({
    node: es?.url,
    apiKey: es?.apiKey,
    username: es?.username,
    password: es?.password,
    caCert: es?.caCert,
    requestTimeout: es?.requestTimeoutMs,
  });
  try {
    await checkConnection(client);
    const { report, charts } = await buildReport(client, {
      namespace,
      models: args.models,
      period: args.period,
      bounds,
      topFeatures: args.top,
    });
    if (args.out) {
      try {
        writeFileSync(args.out, reportHtmlFile(report, charts));
      } catch (error) {
        throw new Error(
          `--out: cannot write ${args.out}: ${(error as NodeJS.ErrnoException).code ?? oneLine(error)}`,
        );
      }
      if (args.format !== 'json') io.stdout.write(`wrote ${args.out} (${charts.length} charts)\n`);
    }
    let sent: { messageId: string; attempts: number; accepted: string[] } | undefined;
    if (mail) {
      const message = buildMessage(report, charts, {
        from: args.mailFrom ?? config?.smtp.from ?? 'mlmon@localhost',
        to: recipients,
        subjectPrefix: args.subjectPrefix,
      });
      sent = await sendMessage(message, {
        smtpUrl: smtpUrl as string,
        onFailedAttempt: (f) =>
          io.stderr.write(
            `mlmon report: sending failed (attempt ${f.attempt}, ${f.retriesLeft} left): ${f.message}\n`,
          ),
      });
      if (args.format !== 'json')
        io.stdout.write(`sent to ${sent.accepted.join(', ')} (${sent.attempts} attempt(s))\n`);
    }
    if (args.format === 'json')
      writeJson(io, { ...report, charts: charts.map(({ png: _png, ...c }) => c), sent });
    else for (const m of report.models) io.stdout.write(`${m.verdict.status}: ${m.verdict.sentence}\n`);
    return EXIT.ok;
  } catch (error) {
    // Whatever failed, the SMTP URL's credentials stay out of the message.
    if (error instanceof Error) error.message = redactSmtp(error.message, smtpUrl);
    throw error;
  } finally {
    await client.close();
  }
}

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'build the HTML report of models for a period and e-mail it',
  usage: [
    '--model M [--model M2 ...] (--last 24h | --from T --to T)',
    '    [--namespace N] [--out report.html] [--to addr ...] [--subject-prefix P]',
    '    [--mail-from addr] [--config path] [--top N] [--format table|json]',
  ],
  description: `Builds the report of one or more models for a period from the result documents the analyzer wrote
(drift, quality, performance, service): a verdict, drift by feature with reference-versus-current
distributions of the top features, performance over time with label coverage, data quality,
service health, and what changed since the previous period of the same length.`,
  options: reportOptions,
  notes: `Times: ISO 8601 (2026-05-01T00:00:00Z, 2026-05-01), now, now-1d. Impossible dates are refused.

E-mail is sent when an SMTP URL is configured (SMTP_URL, or smtp.url in the config) and there are
recipients. The SMTP URL may hold a password: it never appears in output or errors.`,
  run: async (values, io) => runReport(reportArguments(values), io),
});
