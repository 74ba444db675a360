/**
 * After a demo run, when configured: the Kibana dashboards and rules (KIBANA_URL) and the report by
 * e-mail (SMTP_URL); otherwise one line each on how (moved out of commands/demo.ts).
 */
import { dashboardUrl, type DashboardKey } from '../../kibana/dashboards.js';
import { installKibana, safeUrl } from '../../kibana/install.js';
import { buildMessage, type buildReport, redactSmtp, sendMessage } from '../../report/index.js';
import { defaultKibanaInstallOptions } from '../commands/kibana.js';
import type { CommandIO } from '../io.js';
import type { DemoDataset } from './datasets.js';

const DASHBOARDS: DashboardKey[] = ['overview', 'drift', 'performance', 'quality', 'service'];

export interface OptionalStep<T> {
  lines: string[];
  result: T | null;
}

/** What the demo's Kibana step reports (`kibana` in `--format json`). */
export interface DemoKibanaResult {
  url: string;
  dashboards: string[];
  rules: string[];
  created: number;
  updated: number;
  unchanged: number;
}

/** With KIBANA_URL: `mlmon kibana install`'s installer, and links to the dashboards over the demo's period. */
export async function installDashboards(
  ds: DemoDataset,
  namespace: string,
  period: { start: Date; end: Date },
  io: CommandIO,
): Promise<OptionalStep<DemoKibanaResult>> {
  const base = process.env.KIBANA_URL;
  if (!base)
    return {
      lines: ['Kibana: set KIBANA_URL (and KIBANA_API_KEY) to install the dashboards and alert rules too.'],
      result: null,
    };
  try {
    const install = defaultKibanaInstallOptions(process.env);
    const installed = await installKibana(install);
    const space =
      install.space && install.space !== 'default' ? `/s/${encodeURIComponent(install.space)}` : '';
    const shown = `${safeUrl(base).replace(/\/$/, '')}${space}`;
    // The data lies in the past: the links carry the demo's period as Kibana's time range.
    const time = `_g=(time:(from:'${period.start.toISOString()}',to:'${period.end.toISOString()}'))`;
    const dashboards = DASHBOARDS.map((key) => `${dashboardUrl(shown, key, ds.model.name)}&${time}`);
    const ruleItems = installed.items.filter((i) => i.kind === 'rule');
    const rules = ruleItems.map(
      (i) => `${shown}/app/management/insightsAndAlerting/triggersActions/rule/${encodeURIComponent(i.id)}`,
    );
    const c = installed.counts;
    return {
      lines: [
        `Kibana ${installed.kibana}: dashboards and alert rules installed (${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged; namespace ${namespace}):`,
        ...DASHBOARDS.map((key, i) => `  dashboard ${key.padEnd(12)} ${dashboards[i]}`),
        ...rules.map(
          (url, i) =>
            `  rule ${(installed.items.filter((x) => x.kind === 'rule')[i]?.title ?? '').padEnd(16)} ${url}`,
        ),
      ],
      result: {
        url: safeUrl(base),
        dashboards,
        rules,
        created: c.created,
        updated: c.updated,
        unchanged: c.unchanged,
      },
    };
  } catch (error) {
    io.stderr.write(`warning: Kibana: ${error instanceof Error ? error.message : String(error)}\n`);
    return { lines: ['Kibana: installing the dashboards failed (see the warning above).'], result: null };
  }
}

/** With SMTP_URL: the report by e-mail, as `mlmon report --to` sends it. */
export async function mailReport(
  report: Awaited<ReturnType<typeof buildReport>>['report'],
  charts: Awaited<ReturnType<typeof buildReport>>['charts'],
  to: string | undefined,
  io: CommandIO,
): Promise<OptionalStep<{ to: string[]; accepted: string[]; messageId: string }>> {
  const smtpUrl = process.env.SMTP_URL;
  if (!smtpUrl)
    return {
      lines: [
        'E-mail: set SMTP_URL (smtp://user:pass@host:587) to have the report mailed too (--mail-to ADDR).',
      ],
      result: null,
    };
  const recipients = (to ?? process.env.ALERT_EMAIL_TO ?? 'demo@localhost')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    const message = buildMessage(report, charts, {
      from: process.env.SMTP_FROM || 'mlmon@localhost',
      to: recipients,
      subjectPrefix: '[mlmon demo]',
    });
    const sent = await sendMessage(message, { smtpUrl });
    return {
      lines: [`E-mail: report sent to ${sent.accepted.join(', ')}`],
      result: { to: recipients, accepted: sent.accepted, messageId: sent.messageId },
    };
  } catch (error) {
    io.stderr.write(
      `warning: e-mail: ${redactSmtp(error instanceof Error ? error.message : String(error), smtpUrl)}\n`,
    );
    return { lines: ['E-mail: sending the report failed (see the warning above).'], result: null };
  }
}
