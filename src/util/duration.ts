import { BadInputError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** One or more `<number><unit>` parts (`1h30m`, `2m15.5s`), or a bare number of seconds. */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?|(?:\d+(?:\.\d+)?(?:ms|h|m|s))+)$/;
const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;

export interface DurationBounds {
  min?: number;
  max?: number;
  /** How the range reads in the message: `from 100ms to 24h`. */
  range: string;
}

/**
 * Parses `250ms`, `2s`, `1.5s`, `2m`, `1h`, and compound ones (`1h30m`, `1m30s`, each unit once,
 * largest first) into milliseconds. A bare number is seconds. Messages quote the text as typed.
 */
export function parseDuration(text: string, what: string, bounds?: DurationBounds): number {
  const t = text.trim();
  const bad = (): BadInputError =>
    new BadInputError(`${what}: '${text}' is not a duration (expected e.g. 500ms, 2s, 1m, 1h30m)`);
  if (!DURATION_PATTERN.test(t)) throw bad();
  let ms: number;
  if (/^[\d.]+$/.test(t)) ms = Number(t) * 1000;
  else {
    const parts = [...t.matchAll(PART)];
    const order = parts.map((p) => UNITS[p[2]!]!);
    // 1h30m, not 30m1h or 1m1m: each unit once, from the largest down.
    if (order.some((u, i) => i > 0 && u >= order[i - 1]!)) throw bad();
    ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
  }
  if (!Number.isFinite(ms)) throw new BadInputError(`${what}: '${text}' is out of range`);
  if (
    bounds &&
    ((bounds.min !== undefined && ms < bounds.min) || (bounds.max !== undefined && ms > bounds.max))
  )
    throw new BadInputError(`${what} '${text}' must be ${bounds.range}`);
  return ms;
}

/** Formats milliseconds for people: `850 ms`, `3.02 s`, `15.4 min`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/**
 * Formats milliseconds as a duration is typed (`500ms`, `30s`, `1.5s`, `25h`, `1h30m`): for
 * messages about a value the user gave, so that it reads as they wrote it.
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${+ms.toFixed(1)}ms`;
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  if (rest > 0)
    out += rest % 1000 === 0 || rest >= 1000 ? `${+(rest / 1000).toFixed(3)}s` : `${rest}ms`;
  return out || '0s';
}
