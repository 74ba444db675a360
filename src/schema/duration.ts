/**
 * The one duration grammar of mlmon (CLI flags and the configuration file alike), in two variants:
 * `parseDurationOrUndefined` for callers that word their own error (the configuration schema names
 * the key), `parseDurationOrThrow` for callers that want this module's message (the CLI).
 */
const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** A text that is not a positive duration, for `parseDurationOrThrow`. */
export class DurationError extends Error {
  override name = 'DurationError';
}

/** `500ms`, `30s`, `5m`, `1.5h`, `1d`, `1w` → milliseconds; undefined when not a positive duration. */
export function parseDurationOrUndefined(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] as string] as number);
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined;
}

/** The same grammar → milliseconds; throws a one-line `DurationError` when not a positive duration. */
export function parseDurationOrThrow(text: string): number {
  const ms = parseDurationOrUndefined(text);
  if (ms === undefined)
    throw new DurationError(
      `"${text}" is not a positive duration: use a number and a unit, e.g. 15m, 1h, 1d, 1w`,
    );
  return ms;
}

/** Milliseconds → the largest unit that divides them evenly (`3600000` → `1h`), for messages. */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
