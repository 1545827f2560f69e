/** The small parsers strategy specs share: `key=value` lists, durations with limits, integers. */
import { BadInputError } from '../errors.js';
import { parseDuration } from '../util/duration.js';

/** The kernel holds keepalive times in seconds, at most this many. */
export const TCP_KEEPALIVE_MAX_S = 32767;

/** Node's timers hold at most 2^31 - 1 ms (24.8 days); a day is plenty for any interval here. */
const MAX_INTERVAL_MS = 24 * 3_600_000;

/** `a=1,b=2` into a map, with every required key present and no key unknown or repeated. */
export function keyValues(
  body: string,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Map<string, string> {
  const out = new Map<string, string>();
  const allowed = [...required, ...optional];
  for (const part of body.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 || !allowed.includes(key)) {
      throw new BadInputError(
        `${what}: '${part}' is not one of ${allowed.map((k) => `${k}=`).join(', ')}`,
      );
    }
    if (out.has(key)) throw new BadInputError(`${what}: '${key}' is given twice`);
    out.set(key, part.slice(eq + 1));
  }
  for (const key of required) {
    if (!out.has(key))
      throw new BadInputError(
        `${what}: missing '${key}=' (expected ${required.map((k) => `${k}=`).join(',')})`,
      );
  }
  return out;
}

export function wholeSeconds(text: string, what: string): number {
  const ms = parseDuration(text, what);
  if (ms < 1000 || ms % 1000 !== 0 || ms / 1000 > TCP_KEEPALIVE_MAX_S) {
    throw new BadInputError(
      `${what}: '${text}' must be whole seconds from 1s to ${TCP_KEEPALIVE_MAX_S}s (the kernel counts keepalive in seconds)`,
    );
  }
  return ms;
}

export function integerIn(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < min || n > max)
    throw new BadInputError(`${what} '${text}' must be an integer from ${min} to ${max}`);
  return n;
}

export function positiveMs(text: string, what: string): number {
  const ms = parseDuration(text, what);
  if (ms < 1 || !Number.isInteger(ms) || ms > MAX_INTERVAL_MS)
    throw new BadInputError(`${what}: '${text}' must be from 1ms to 24h, in whole milliseconds`);
  return ms;
}

export function parseChoice<T extends string>(
  text: string,
  choices: readonly T[],
  what: string,
): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new BadInputError(`${what} '${text}' is unknown (expected one of: ${choices.join(', ')})`);
}

/** A duration as specs write it back: `2s` when whole seconds, else `250ms`. */
export const specMs = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** A kind that takes no options (`none`). */
export function noOptions(body: string, what: string, kind: string): void {
  if (body) throw new BadInputError(`${what}: '${kind}' takes no options`);
}
