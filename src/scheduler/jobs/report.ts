/**
 * The `report` job: builds the report of a period for the report job's models and e-mails it,
 * retrying a failed send with exponential backoff. Every failed attempt is counted in
 * `mlmon_report_send_failures_total`, every sent e-mail in `mlmon_report_emails_sent_total`. When
 * every attempt fails the job fails, and the scheduler retries the period at a later pass (up to
 * `scheduler.maxAttempts`).
 *
 * Delivery is exactly once per period unless a replica dies between the SMTP server's "250 OK"
 * and marking the period done (one Elasticsearch write): then the period is sent again, with the
 * same Message-ID, which lets mail systems drop the duplicate.
 */
import { buildMessage, buildReport, sendMessage } from '../../report/index.js';
import type { WindowJob } from './contract.js';
import type { ReportJobOptions } from '../reports.js';

export const reportJob: WindowJob = async (ctx) => {
  const { report, smtpUrl, bounds } = ctx.options as unknown as ReportJobOptions;
  const labels = { namespace: ctx.namespace, report: report.name };
  const built = await buildReport(ctx.client, {
    namespace: ctx.namespace,
    models: report.models,
    period: ctx.window,
    bounds,
    topFeatures: report.topFeatures,
    title: `mlmon report ${report.name}`,
  });
  ctx.signal.throwIfAborted();
  const message = buildMessage(built.report, built.charts, {
    from: report.from,
    to: report.to,
    subjectPrefix: report.subjectPrefix,
    reportName: report.name,
  });
  const sent = await sendMessage(message, {
    smtpUrl,
    attempts: report.sendAttempts,
    minDelayMs: report.retryDelayMs,
    maxDelayMs: report.retryDelayMs * 10,
    signal: ctx.signal,
    onFailedAttempt: (f) => {
      ctx.metrics?.reportSendFailures.inc(labels);
      ctx.log.warn('report.send_failed', `sending the report failed (attempt ${f.attempt})`, {
        'report.name': report.name,
        attempt: f.attempt,
        'retries.left': f.retriesLeft,
        error: f.message,
      });
    },
  });
  ctx.metrics?.reportsSent.inc(labels);
  ctx.log.info('report.sent', `report e-mailed to ${sent.accepted.length} recipient(s)`, {
    'report.name': report.name,
    'email.message_id': sent.messageId,
    'email.recipients': sent.accepted.length,
    attempts: sent.attempts,
    verdicts: built.report.models.map((m) => `${m.data.model}: ${m.verdict.status}`),
  });
  return { documents: [] };
};
