/**
 * A report built from result documents the real analyzer wrote, sent through a real SMTP peer
 * (smtp-server on 127.0.0.1, with AUTH) and read back with mailparser: subject, recipients, HTML and
 * text parts, inline PNG charts, the drift CSV, hostile names escaped, and every figure equal to the
 * result documents in Elasticsearch for the period.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMessage,
  buildReport,
  CSV_FILENAME,
  DRIFT_CSV_COLUMNS,
  ReportSendError,
  sendMessage,
  type Chart,
  type ReportData,
} from '../../src/report/index.js';
import { resultStream } from '../../src/schema/streams.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { documentsOf, dropNamespace } from '../performance/fixtures.js';
import {
  DAY,
  DAY2,
  HOSTILE_CATEGORY,
  HOSTILE_FEATURE,
  HOSTILE_MODEL,
  seedReplay,
  type ReplayFacts,
} from './fixtures.js';
import { pngSize, SMTP_PASSWORD, SMTP_USER, startSmtpPeer, type SmtpPeer } from './smtp.js';

interface DriftDoc {
  feature: { name: string };
  window: { start: string; end: string; count: number };
  drift?: { score: number; detected: boolean; method: string };
}
interface ServiceDoc {
  window: { start: string; count: number };
  service: { errors: number; latency: { p95: number } };
}
interface PerfDoc {
  window: { start: string };
  performance: { scope: string; accuracy?: number };
  segment?: unknown;
}

/** Test output (gitignored): the mail as received, for a person to look at. */
const OUTPUT = join(import.meta.dirname, '../../test-output');

const period = { start: new Date(DAY2), end: new Date(DAY2 + DAY) };
const inPeriod = (start: string) => Date.parse(start) >= DAY2 && Date.parse(start) < DAY2 + DAY;

describe('report e-mail through a real SMTP peer', () => {
  const client = testClient();
  const namespace = uniqueNamespace('rpt');
  let facts: ReplayFacts;
  let peer: SmtpPeer;
  let report: ReportData;
  let charts: Chart[];

  beforeAll(async () => {
    facts = await seedReplay(client, namespace);
    peer = await startSmtpPeer();
    ({ report, charts } = await buildReport(client, { namespace, models: [HOSTILE_MODEL], period }));
  }, 240_000);
  afterAll(async () => {
    await peer?.close();
    await dropNamespace(client, namespace, [HOSTILE_MODEL]);
    await client.close();
  });

  it('arrives with subject, recipients, HTML and text parts, PNG charts and the CSV; figures equal the result documents', async () => {
    const to = ['ml-team@example.com', 'oncall@example.com'];
    const message = buildMessage(report, charts, {
      from: 'mlmon@example.com',
      to,
      subjectPrefix: '[mlmon test]',
    });
    const sent = await sendMessage(message, { smtpUrl: peer.url, attempts: 1 });
    expect(sent.attempts).toBe(1);
    const [mail] = await peer.waitFor(1);
    const parsed = mail!.parsed;

    // Envelope and headers.
    expect(mail!.rcptTo.sort()).toEqual([...to].sort());
    expect(mail!.from).toBe('mlmon@example.com');
    const toHeader = Array.isArray(parsed.to) ? parsed.to : [parsed.to];
    expect(toHeader.flatMap((a) => a?.value.map((v) => v.address))).toEqual(to);
    // The model name as logged, decoded from the encoded header; the verdict of the replay.
    expect(parsed.subject).toBe(
      `[mlmon test] mlmon report: ${HOSTILE_MODEL} (2026-03-02T00:00Z – 2026-03-03T00:00Z) – ${HOSTILE_MODEL}: drifting`,
    );

    // Parts: text alternative and HTML.
    expect(parsed.text).toContain(`Model ${HOSTILE_MODEL}`);
    expect(parsed.text).toContain(`DRIFTING: ${HOSTILE_MODEL} is drifting`);
    // mailparser re-indents the HTML it returns; compare on whitespace-collapsed text.
    const html = String(parsed.html).replace(/\s+/g, ' ').replace(/> </g, '><');
    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(join(OUTPUT, 'report-email.html'), html);
    writeFileSync(join(OUTPUT, 'report-email.eml'), mail!.raw);
    expect(html).toContain('<!DOCTYPE html>');

    // Hostile names: escaped in the HTML, never as markup.
    expect(html).not.toContain(HOSTILE_FEATURE);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain(HOSTILE_CATEGORY);
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).not.toContain(HOSTILE_MODEL);
    expect(html).toContain('&quot;; DROP');
    expect(html).not.toMatch(/<script/i);

    // Inline images: every cid in the HTML has a PNG part of sensible size, with alt text.
    const cids = [...html.matchAll(/<img src="cid:([^"]+)" alt="([^"]+)"/g)].map((m) => ({
      cid: m[1],
      alt: m[2],
    }));
    // drift ranking, 3 distributions (3 input features, all with a baseline), performance, latency
    expect(cids).toHaveLength(6);
    const images = parsed.attachments.filter((a) => a.contentType === 'image/png');
    expect(images).toHaveLength(6);
    for (const { cid, alt } of cids) {
      expect(alt!.length).toBeGreaterThan(40);
      const part = images.find((a) => a.cid === cid);
      expect(part, `part for cid ${cid}`).toBeDefined();
      expect(part!.contentDisposition).toBe('inline');
      const size = pngSize(part!.content);
      expect(size.width).toBeGreaterThanOrEqual(300);
      expect(size.width).toBeLessThanOrEqual(2000);
      expect(size.height).toBeGreaterThanOrEqual(100);
      expect(size.height).toBeLessThanOrEqual(2000);
    }

    // The CSV: one row per drift result document of the period, equal to Elasticsearch's.
    const csvPart = parsed.attachments.find((a) => a.filename === CSV_FILENAME);
    expect(csvPart?.contentType).toBe('text/csv');
    const rows = parseCsv(csvPart!.content.toString('utf8'), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(Object.keys(rows[0] ?? {})).toEqual([...DRIFT_CSV_COLUMNS]);
    const driftDocs = (await documentsOf<DriftDoc>(client, resultStream('drift', namespace)))
      .map((d) => d.source)
      .filter((d) => d.drift && inPeriod(d.window.start));
    // 3 features (hostile, tenure, plan) + 2 outputs (prediction.score, prediction.label) and the
    // target (actual.label) would be 6 per window; count what the analyzer wrote instead of guessing.
    expect(rows).toHaveLength(driftDocs.length);
    expect(driftDocs.length).toBeGreaterThanOrEqual(4 * 3);
    for (const d of driftDocs) {
      const row = rows.find((r) => r.feature === d.feature.name && r.window_start === d.window.start);
      expect(row, `${d.feature.name} ${d.window.start}`).toBeDefined();
      expect(Number(row!.score)).toBe(d.drift!.score);
      expect(row!.detected).toBe(String(d.drift!.detected));
      expect(row!.model).toBe(HOSTILE_MODEL);
      expect(Number(row!.window_count)).toBe(d.window.count);
    }

    // The ranked drift table: windows with drift per feature, as Elasticsearch has them.
    const byFeature = new Map<string, { drifted: number; windows: number }>();
    for (const d of driftDocs) {
      const f = byFeature.get(d.feature.name) ?? { drifted: 0, windows: 0 };
      f.windows++;
      if (d.drift!.detected) f.drifted++;
      byFeature.set(d.feature.name, f);
    }
    // The shift of 3 reference sd in day 2's last two windows is found there (KS on 240 values);
    // the first two windows come from the reference distribution.
    expect(byFeature.get(HOSTILE_FEATURE)).toEqual({ drifted: 2, windows: 4 });
    expect(byFeature.get('tenure')?.windows).toBe(4);
    for (const [feature, f] of byFeature) {
      const escaped = feature
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;');
      expect(html).toMatch(
        new RegExp(
          `<td>${escaped.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</td>.*?data-drifted="${f.drifted}" data-windows="${f.windows}"`,
        ),
      );
    }
    // Ranked: the two features with drift in 2 of 4 windows (the shifted one, and plan with its new
    // category) come first.
    expect(new Set(report.models[0]!.data.features.slice(0, 2).map((f) => f.feature))).toEqual(
      new Set([HOSTILE_FEATURE, 'plan']),
    );

    // Service health: totals equal the service documents, and the replay's own counts.
    const serviceDocs = (await documentsOf<ServiceDoc>(client, resultStream('service', namespace)))
      .map((d) => d.source)
      .filter((d) => inPeriod(d.window.start));
    expect(serviceDocs).toHaveLength(4);
    const predictions = serviceDocs.reduce((s, d) => s + d.window.count, 0);
    const errors = serviceDocs.reduce((s, d) => s + d.service.errors, 0);
    expect(predictions).toBe(facts.day2Predictions); // 4 windows × 240, generated above
    expect(errors).toBe(facts.day2Failures); // every 40th prediction failed: 4 × 6
    expect(html).toContain(`data-service="predictions">${predictions}<`);
    expect(html).toContain(`data-service="errors">${errors}<`);
    const maxP95 = Math.max(...serviceDocs.map((d) => d.service.latency.p95));
    expect(html).toContain(`data-service="max-p95">${Number(maxP95.toFixed(2))} ms<`);

    // Performance: the mean accuracy shown equals the mean over the period's model-scope documents.
    const perfDocs = (await documentsOf<PerfDoc>(client, resultStream('performance', namespace)))
      .map((d) => d.source)
      .filter((d) => !d.segment && d.performance.scope === 'model' && inPeriod(d.window.start));
    expect(perfDocs).toHaveLength(4);
    const meanAccuracy = perfDocs.reduce((s, d) => s + (d.performance.accuracy ?? 0), 0) / perfDocs.length;
    expect(html).toContain(`data-metric="accuracy">${Number(meanAccuracy.toFixed(4))}<`);
    // ...and the documents equal the accuracy counted from the generated rows (failed ones excluded).
    for (const d of perfDocs)
      expect(d.performance.accuracy).toBeCloseTo(facts.day2Accuracy.get(d.window.start)!, 12);

    // No credential anywhere in what was sent.
    expect(mail!.raw.toString('latin1')).not.toContain(SMTP_PASSWORD);
  });

  it('a failed send is retried with backoff, and the error never shows the SMTP credentials', async () => {
    const message = buildMessage(report, charts, { from: 'mlmon@example.com', to: ['a@example.com'] });
    const wrong = `smtp://${SMTP_USER}:wrong-${SMTP_PASSWORD}@127.0.0.1:${peer.port}`;
    const failures: string[] = [];
    const before = peer.rejectedLogins;
    const error = await sendMessage(message, {
      smtpUrl: wrong,
      attempts: 3,
      minDelayMs: 10,
      onFailedAttempt: (f) => failures.push(f.message),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReportSendError);
    expect((error as ReportSendError).attempts).toBe(3);
    expect(peer.rejectedLogins - before).toBe(3);
    expect(failures).toHaveLength(3);
    for (const text of [...failures, (error as Error).message]) {
      expect(text).not.toContain(SMTP_PASSWORD);
      expect(text).not.toContain(SMTP_USER);
    }
  });

  it('a transient failure (451) is retried and the mail then arrives once', async () => {
    const flaky = await startSmtpPeer({ failFirst: 2 });
    try {
      const message = buildMessage(report, charts, { from: 'mlmon@example.com', to: ['a@example.com'] });
      const sent = await sendMessage(message, { smtpUrl: flaky.url, attempts: 4, minDelayMs: 10 });
      expect(sent.attempts).toBe(3);
      await flaky.waitFor(1);
      expect(flaky.received).toHaveLength(1);
    } finally {
      await flaky.close();
    }
  });

  it('a period without data says so, for e-mail and HTML alike', async () => {
    const empty = { start: new Date(DAY2 + 10 * DAY), end: new Date(DAY2 + 11 * DAY) };
    const built = await buildReport(client, { namespace, models: [HOSTILE_MODEL], period: empty });
    expect(built.report.models[0]!.verdict.status).toBe('no-data');
    expect(built.charts).toHaveLength(0);
    const message = buildMessage(built.report, built.charts, {
      from: 'mlmon@example.com',
      to: ['a@example.com'],
    });
    expect(String(message.subject)).toMatch(/no-data$/);
    expect(String(message.html)).toContain('This period has no data to report on for this model.');
    expect(String(message.text)).toContain(
      'NO-DATA: No data for "; DROP: no predictions and no analysis results',
    );
  });
});
