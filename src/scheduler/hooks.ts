/**
 * Hooks: when a window's results cross a threshold (`drift.detected` or `performance.degraded`),
 * POST them to a webhook or pipe them into a command (for example, to start a retraining).
 *
 * A hook can never hurt the scheduler: each call has a timeout, every failure (network error,
 * non-2xx answer, non-zero exit, timeout) is logged and counted, nothing is thrown. Hooks run
 * after the window's result is committed (marked done), by the replica that committed it: a
 * receiver that reads the results finds them, and a replica whose lock was taken over never fires
 * them, so a window's hooks fire once. The price: a replica that dies between the commit and the
 * call loses that call (at most once, not at least once).
 *
 * Log lines name the hook, never its URL or headers (they may carry tokens).
 */
import { spawn } from 'node:child_process';
import type { HookConfig, HookEvent } from '../schema/config.js';
import type { ModelRef, ResultSummary } from './jobs/contract.js';
import type { StructuredLogger } from './log.js';

export interface HookPayload {
  event: HookEvent;
  job: string;
  model: ModelRef;
  namespace: string;
  window: { start: string; end: string };
  /** The result documents that crossed the threshold, with their stream and id. */
  documents: Array<{ stream: string; id: string; document: Record<string, unknown> }>;
}

export interface HookOutcome {
  hook: string;
  event: HookEvent;
  ok: boolean;
  /** HTTP status or exit code, when there was one. */
  status?: number;
  error?: string;
  durationMs: number;
}

/** Which events the documents trigger, with the documents behind each. */
export function triggeredEvents(documents: ResultSummary[]): Map<HookEvent, ResultSummary[]> {
  const out = new Map<HookEvent, ResultSummary[]>();
  const add = (event: HookEvent, doc: ResultSummary) => out.set(event, [...(out.get(event) ?? []), doc]);
  for (const doc of documents) {
    if (doc.document.drift?.detected === true) add('drift.detected', doc);
    if (doc.document.performance?.degraded === true) add('performance.degraded', doc);
  }
  return out;
}

async function callWebhook(
  hook: HookConfig & { webhook: NonNullable<HookConfig['webhook']> },
  body: string,
): Promise<{ ok: boolean; status?: number; error?: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), hook.webhook.timeoutMs);
  try {
    const response = await fetch(hook.webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'mlmon-scheduler',
        ...hook.webhook.headers,
      },
      body,
      signal: controller.signal,
    });
    // Drain the body so the connection is released; its content is not ours to log.
    await response.arrayBuffer().catch(() => undefined);
    return response.ok
      ? { ok: true, status: response.status }
      : { ok: false, status: response.status, error: `answered HTTP ${response.status}` };
  } catch (error) {
    if (controller.signal.aborted)
      return { ok: false, error: `timed out after ${hook.webhook.timeoutMs} ms` };
    // fetch's messages ("fetch failed") hide the cause; the cause names the network error, not the URL.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      ok: false,
      error: `request failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    };
  } finally {
    clearTimeout(timer);
  }
}

function runCommand(
  hook: HookConfig & { command: NonNullable<HookConfig['command']> },
  body: string,
  payload: HookPayload,
): Promise<{ ok: boolean; status?: number; error?: string }> {
  return new Promise((resolve) => {
    const [program, ...args] = hook.command.argv as [string, ...string[]];
    let settled = false;
    const finish = (result: { ok: boolean; status?: number; error?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    let stderrTail = '';
    const child = spawn(program, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: {
        ...process.env,
        MLMON_EVENT: payload.event,
        MLMON_JOB: payload.job,
        MLMON_MODEL: payload.model.name,
        MLMON_MODEL_VERSION: payload.model.version ?? '',
        MLMON_NAMESPACE: payload.namespace,
        MLMON_WINDOW_START: payload.window.start,
        MLMON_WINDOW_END: payload.window.end,
      },
    });
    // Declared after spawn: `finish` only runs from the child's events, which come later.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      // A command that ignores SIGTERM is killed for good a moment later.
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      finish({ ok: false, error: `timed out after ${hook.command.timeoutMs} ms` });
    }, hook.command.timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-500);
    });
    child.on('error', (error) => finish({ ok: false, error: `cannot run ${program}: ${error.message}` }));
    child.on('close', (code, signal) => {
      if (code === 0) finish({ ok: true, status: 0 });
      else
        finish({
          ok: false,
          status: code ?? undefined,
          error: `${signal ? `killed by ${signal}` : `exited with ${code}`}${stderrTail ? `: ${stderrTail.trim()}` : ''}`,
        });
    });
    // A command that does not read its stdin closes the pipe: that is its business, not an error.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(body);
  });
}

/**
 * Calls every hook that listens to an event the documents trigger, all at once, and resolves
 * when every call has finished or timed out. Never rejects.
 */
export async function runHooks(
  hooks: HookConfig[],
  context: Omit<HookPayload, 'event' | 'documents'>,
  documents: ResultSummary[],
  log: StructuredLogger,
): Promise<HookOutcome[]> {
  const events = triggeredEvents(documents);
  const calls: Array<Promise<HookOutcome>> = [];
  for (const [event, docs] of events) {
    const payload: HookPayload = {
      event,
      ...context,
      documents: docs.map((d) => ({ stream: d.stream, id: d.id, document: d.document })),
    };
    const body = JSON.stringify(payload);
    for (const hook of hooks.filter((h) => h.on.includes(event))) {
      const call = async (): Promise<HookOutcome> => {
        const started = Date.now();
        const results: Array<{ ok: boolean; status?: number; error?: string }> = [];
        try {
          if (hook.webhook) results.push(await callWebhook({ ...hook, webhook: hook.webhook }, body));
          if (hook.command) results.push(await runCommand({ ...hook, command: hook.command }, body, payload));
        } catch (error) {
          results.push({ ok: false, error: error instanceof Error ? error.message : String(error) });
        }
        const failed = results.find((r) => !r.ok);
        const outcome: HookOutcome = {
          hook: hook.name,
          event,
          ok: !failed,
          status: (failed ?? results[0])?.status,
          error: failed?.error,
          durationMs: Date.now() - started,
        };
        const fields = {
          hook: hook.name,
          'hook.event': event,
          'hook.status': outcome.status,
          'hook.documents': docs.length,
          'event.duration_ms': outcome.durationMs,
        };
        if (outcome.ok) log.info('hook.called', `hook ${hook.name} called for ${event}`, fields);
        else log.warn('hook.failed', `hook ${hook.name} failed for ${event}: ${outcome.error}`, fields);
        return outcome;
      };
      calls.push(call());
    }
  }
  return Promise.all(calls);
}
