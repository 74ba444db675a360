/**
 * Report jobs on several scheduler processes against one real Elasticsearch and one real SMTP
 * peer: exactly one e-mail per period with two replicas (and a peer that refuses the first sends,
 * so retries happen and are counted in /metrics), and still exactly one after the replica working
 * on a period is SIGKILLed before it sent anything.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installTemplates } from '../../src/elastic/templates.js';
import type { JobTarget } from '../../src/scheduler/state.js';
import { alignDown } from '../../src/scheduler/windows.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import {
  killStillRunning,
  SchedulerProcess,
  tempDir,
  waitUntilSettled,
  windowStates,
  writeConfig,
} from '../scheduler/helpers.js';
import { day as formatTime } from '../../src/report/html.js';
import { SMTP_PASSWORD, startSmtpPeer, type ReceivedMail, type SmtpPeer } from './smtp.js';

const PERIOD_MS = 2000;
const REPORT = 'pulse';

function config(namespace: string, start: number) {
  return {
    namespace,
    smtp: { from: 'mlmon@example.com' },
    scheduler: {
      lockTtl: '3s',
      heartbeat: '500ms',
      maxCatchUp: 100,
      shutdownGrace: '10s',
      metrics: { port: 0, host: '127.0.0.1' },
    },
    reports: [
      {
        name: REPORT,
        models: ['churn'],
        period: '2s',
        cron: '* * * * * *',
        delay: '500ms',
        start: new Date(start).toISOString(),
        to: ['team@example.com'],
        subjectPrefix: '[pulse]',
        retryDelay: '100ms',
      },
    ],
  };
}

/** The period a mail covers, from the second line of its text part (`start – end`). */
function periodOf(mail: ReceivedMail): string {
  return (mail.parsed.text ?? '').split('\n')[1]?.split(',')[0] ?? '';
}

function mailsPerPeriod(mails: ReceivedMail[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of mails) out.set(periodOf(m), (out.get(periodOf(m)) ?? 0) + 1);
  return out;
}

const day = (ms: number) => formatTime(new Date(ms));

async function metricValue(p: SchedulerProcess, name: string): Promise<number> {
  const listening = p.events('metrics.listening')[0];
  const port = listening?.port as number;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('report jobs on scheduler replicas', () => {
  const client = testClient();
  const esUrl = inject('esUrl');
  const processes: SchedulerProcess[] = [];
  const peers: SmtpPeer[] = [];
  const spawn = (configPath: string, owner: string, smtpUrl: string, delayMs: number) => {
    const p = new SchedulerProcess(['--config', configPath], {
      ES_URL: esUrl,
      MLMON_OWNER: owner,
      SMTP_URL: smtpUrl,
      MLMON_TEST_JOB_DELAY_MS: String(delayMs),
    });
    processes.push(p);
    return p;
  };

  beforeAll(async () => {
    await installTemplates(client);
  });
  afterAll(async () => {
    killStillRunning(processes);
    for (const peer of peers) await peer.close();
    await client.close();
  });

  it('two replicas: one e-mail per period; failed sends retried and counted in /metrics', async () => {
    const namespace = uniqueNamespace('rptrep');
    const target: JobTarget = { job: 'report', model: { name: `report:${REPORT}` }, namespace };
    // The peer answers 451 to the first two messages: those sends are retried.
    const peer = await startSmtpPeer({ failFirst: 2 });
    peers.push(peer);
    const first = alignDown(Date.now(), PERIOD_MS) - 8 * PERIOD_MS;
    const starts = Array.from({ length: 8 }, (_, k) => first + k * PERIOD_MS);
    const path = writeConfig(tempDir('report-replicas'), 'mlmon.config.json', config(namespace, first));

    const a = spawn(path, 'replica-a', peer.url, 1000);
    const b = spawn(path, 'replica-b', peer.url, 1000);
    const states = await waitUntilSettled(client, target, starts, 180_000, () => a.stderr + b.stderr);
    expect(states.map((s) => s.state.kind)).toEqual(starts.map(() => 'window'));

    const sent =
      (await metricValue(a, 'mlmon_report_emails_sent_total')) +
      (await metricValue(b, 'mlmon_report_emails_sent_total'));
    const failures =
      (await metricValue(a, 'mlmon_report_send_failures_total')) +
      (await metricValue(b, 'mlmon_report_send_failures_total'));
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);

    const perPeriod = mailsPerPeriod(peer.received);
    for (const start of starts) expect(perPeriod.get(`${day(start)} – ${day(start + PERIOD_MS)}`)).toBe(1);
    // No period was ever sent twice (later periods came due while the test ran).
    for (const [period, n] of perPeriod) expect(n, period).toBe(1);
    // Both replicas took periods; each mail sent was counted once by the replica that sent it.
    expect(new Set(states.map((s) => s.state.owner))).toEqual(new Set(['replica-a', 'replica-b']));
    expect(sent).toBeGreaterThanOrEqual(starts.length);
    expect(sent).toBeLessThanOrEqual(peer.received.length);
    // The peer refused two messages: two failed attempts, both counted, then retried successfully.
    expect(failures).toBe(2);
    const warned = [...a.events('report.send_failed'), ...b.events('report.send_failed')];
    expect(warned).toHaveLength(2);
    for (const w of warned) expect(JSON.stringify(w)).not.toContain(SMTP_PASSWORD);
    for (const m of peer.received) {
      expect(m.rcptTo).toEqual(['team@example.com']);
      expect(m.parsed.subject).toMatch(/^\[pulse\] mlmon report pulse \(/);
      // A period without predictions or results is reported as such, not as healthy.
      expect(m.parsed.subject).toMatch(/churn: no-data$/);
    }
  }, 300_000);

  it('a replica killed while working on a period: the other sends it, once', async () => {
    const namespace = uniqueNamespace('rptkill');
    const target: JobTarget = { job: 'report', model: { name: `report:${REPORT}` }, namespace };
    const peer = await startSmtpPeer();
    peers.push(peer);
    const first = alignDown(Date.now(), PERIOD_MS) - 3 * PERIOD_MS;
    const starts = Array.from({ length: 3 }, (_, k) => first + k * PERIOD_MS);
    const path = writeConfig(tempDir('report-kill'), 'mlmon.config.json', config(namespace, first));

    const victim = spawn(path, 'victim', peer.url, 2500);
    const started = await victim.waitFor(
      (r) => r['event.action'] === 'window.started',
      'a period start',
      120_000,
    );
    victim.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    const killed = Date.parse(started['window.start'] as string);
    const [orphan] = await windowStates(client, target, [killed]);
    expect(orphan?.state.kind).toBe('lock');
    expect(peer.received).toHaveLength(0);

    const survivor = spawn(path, 'survivor', peer.url, 200);
    const states = await waitUntilSettled(client, target, starts, 180_000, () => survivor.stderr);
    survivor.kill('SIGTERM');
    expect((await survivor.exited).code).toBe(0);

    expect(survivor.events('lock.takeover').map((r) => [r['window.start'], r['previous.owner']])).toEqual([
      [new Date(killed).toISOString(), 'victim'],
    ]);
    const taken = states[starts.indexOf(killed)];
    expect(taken?.state.detail.owners.map((o) => [o.owner, o.how])).toEqual([
      ['victim', 'acquired'],
      ['survivor', 'takeover'],
    ]);
    const perPeriod = mailsPerPeriod(peer.received);
    for (const start of starts) expect(perPeriod.get(`${day(start)} – ${day(start + PERIOD_MS)}`)).toBe(1);
    for (const [period, n] of perPeriod) expect(n, period).toBe(1);
  }, 300_000);
});
