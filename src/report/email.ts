/**
 * The report as an e-mail (nodemailer): an HTML part whose charts are inline `cid:` images, a
 * plain-text alternative, and the period's drift results as a CSV attachment. Sending retries with
 * exponential backoff (p-retry).
 *
 * Safety: the subject is built from production strings (model names), so control characters (CR
 * and LF above all: header injection) are replaced before nodemailer encodes it; addresses come
 * from the configuration, never from data. The SMTP URL may carry a user and password: it is never
 * logged, and every error leaving this module has it (and any `user:password@`) redacted.
 */
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import pRetry from 'p-retry';
import type { Chart } from './charts.js';
import { driftCsv } from './csv.js';
import { renderHtml } from './html.js';
import { renderText } from './text.js';
import type { ReportData } from './types.js';

export interface MessageOptions {
  from: string;
  to: string[];
  /** Put before the subject, e.g. `[mlmon prod]`. */
  subjectPrefix?: string;
  /** Identifies the report job: part of the Message-ID, so that a resent period has the same one. */
  reportName?: string;
}

/** Replaces control characters (CR, LF, tab, …) by spaces and collapses runs of spaces. */
export function headerSafe(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
      .replace(/ {2,}/g, ' ')
      .trim()
  );
}

export function reportSubject(report: ReportData, prefix?: string): string {
  const statuses = report.models.map((m) => `${m.data.model}: ${m.verdict.status}`).join(', ');
  const period = `${report.period.start.toISOString().slice(0, 16)}Z – ${report.period.end.toISOString().slice(0, 16)}Z`;
  const subject = headerSafe(`${prefix ? `${prefix} ` : ''}${report.title} (${period}) – ${statuses}`);
  // RFC 5322 allows long folded headers; mail clients show about this much anyway.
  return subject.length > 400 ? `${subject.slice(0, 399)}…` : subject;
}

/** A Message-ID that is the same for the same report job and period (receivers can dedupe). */
export function reportMessageId(report: ReportData, reportName = 'report'): string {
  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        reportName,
        report.namespace,
        report.models.map((m) => m.data.model),
        report.period.start.toISOString(),
        report.period.end.toISOString(),
      ]),
    )
    .digest('hex')
    .slice(0, 32);
  return `<mlmon-report-${hash}@mlmon.invalid>`;
}

export const CSV_FILENAME = 'drift-results.csv';

export function buildMessage(report: ReportData, charts: Chart[], options: MessageOptions): Mail.Options {
  if (options.to.length === 0) throw new Error('report e-mail: no recipients');
  return {
    from: options.from,
    to: options.to,
    subject: reportSubject(report, options.subjectPrefix),
    messageId: reportMessageId(report, options.reportName),
    text: renderText(report),
    html: renderHtml(report, charts, { imageSource: (c) => `cid:${c.id}@mlmon` }),
    attachments: [
      ...charts.map((c) => ({
        filename: `${c.id}.png`,
        content: c.png,
        contentType: 'image/png',
        cid: `${c.id}@mlmon`,
        contentDisposition: 'inline' as const,
      })),
      { filename: CSV_FILENAME, content: driftCsv(report), contentType: 'text/csv; charset=utf-8' },
    ],
  };
}

/** `smtp://user:secret@host` → `smtp://(redacted)@host` everywhere in a text, and the URL itself removed. */
export function redactSmtp(text: string, smtpUrl?: string): string {
  let out = text;
  if (smtpUrl) out = out.split(smtpUrl).join('(SMTP URL redacted)');
  if (smtpUrl) {
    try {
      const u = new URL(smtpUrl);
      for (const secret of [
        u.password,
        decodeURIComponent(u.password),
        u.username,
        decodeURIComponent(u.username),
      ])
        if (secret.length >= 3) out = out.split(secret).join('(redacted)');
    } catch {
      // not a URL: nothing more to take out
    }
  }
  return out.replace(/\b(smtps?:\/\/)[^\s/@]*@/gi, '$1(redacted)@');
}

export class ReportSendError extends Error {
  override name = 'ReportSendError';
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

export interface SendOptions {
  /** `smtp://…` or `smtps://…`; may hold credentials (never logged). */
  smtpUrl: string;
  /** Attempts in all (default 4). */
  attempts?: number;
  /** Delay before the first retry (default 2 s), doubled each time up to `maxDelayMs` (default 60 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Called after each failed attempt, with the error already redacted. */
  onFailedAttempt?: (info: { attempt: number; retriesLeft: number; message: string }) => void;
}

export interface SendResult {
  messageId: string;
  attempts: number;
  accepted: string[];
}

/** Sends with retries; throws {@link ReportSendError} (message redacted) when every attempt failed. */
export async function sendMessage(message: Mail.Options, options: SendOptions): Promise<SendResult> {
  const attempts = Math.max(1, options.attempts ?? 4);
  let used = 0;
  const transport = nodemailer.createTransport(options.smtpUrl);
  try {
    const info = await pRetry(
      async () => {
        used++;
        return transport.sendMail(message);
      },
      {
        retries: attempts - 1,
        factor: 2,
        minTimeout: options.minDelayMs ?? 2000,
        maxTimeout: options.maxDelayMs ?? 60_000,
        signal: options.signal,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) =>
          options.onFailedAttempt?.({
            attempt: attemptNumber,
            retriesLeft,
            message: redactSmtp(error.message, options.smtpUrl),
          }),
      },
    );
    return {
      messageId: String(info.messageId ?? message.messageId ?? ''),
      attempts: used,
      accepted: (info.accepted ?? []).map((a: string | { address: string }) =>
        typeof a === 'string' ? a : a.address,
      ),
    };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    throw new ReportSendError(
      `sending the report failed after ${used} attempt(s): ${redactSmtp(text, options.smtpUrl)}`,
      used,
    );
  } finally {
    transport.close();
  }
}
