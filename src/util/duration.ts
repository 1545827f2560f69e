import { BadInputError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `250ms`, `2s`, `1.5s`, `2m`, `1h` into milliseconds. A bare number is seconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m)
    throw new BadInputError(`${what}: '${text}' is not a duration (expected e.g. 500ms, 2s, 1m)`);
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  if (!Number.isFinite(ms)) throw new BadInputError(`${what}: '${text}' is out of range`);
  return ms;
}

/** Formats milliseconds for people: `850 ms`, `3.02 s`, `15.4 min`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
