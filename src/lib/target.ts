/**
 * What the library's option builders are asked: one target (notice a silent peer within
 * `within`, let a healthy answer be `tolerate` late, keep a middlebox's `idleTimeout` flow alive),
 * turned into the request `tune` answers, and the recommendation of one strategy kind taken from
 * `tune`'s answer (the same search the CLI runs).
 */
import { tune, type Recommendation } from '../advise/tune.js';
import type { Window } from '../core/window.js';
import { parseWorkload, type Workload } from '../core/workload.js';
import { BadInputError } from '../errors.js';
import type { TargetName } from '../protocols/index.js';
import type { Strategy } from '../strategies/index.js';
import { parseDuration } from '../util/duration.js';

/** A duration: milliseconds as a number, or text such as `'10s'`, `'500ms'`, `'1m30s'`. */
export type Duration = number | string;

export interface DetectionTarget {
  /** Notice a silent peer within this, at worst. */
  within: Duration;
  /** A healthy peer's answer may be this late (round trip, GC and event-loop pauses). Default 1s. */
  tolerate?: Duration;
  /** The shortest idle timeout of a middlebox on the path (a load balancer's), if known. */
  idleTimeout?: Duration | null;
  /** What the connection does: `'idle'` (default), `'publish:10'`, `'subscribe:10'`. */
  workload?: string | Workload;
  /** MQTT's QoS of the messages (default 1). */
  qos?: 0 | 1;
}

/** What every builder says besides the options (not enumerable: spreading the result skips it). */
export interface Explained {
  /** The predicted detection window on a silent path, [min, max] ms after the peer went silent. */
  readonly window: Window;
  /** How the numbers were chosen. */
  readonly why: string;
}

/** A duration in ms, from a number of ms or a text like `'10s'`. */
export function toMs(d: Duration, what: string): number {
  const ms = typeof d === 'number' ? d : parseDuration(d, what);
  if (!Number.isFinite(ms) || ms <= 0)
    throw new BadInputError(`${what}: ${String(d)} must be a positive duration`);
  return ms;
}

/** `tune`'s recommendation of one kind for the target, or a BadInputError saying why none fits. */
export function recommend<K extends Strategy['kind']>(
  t: DetectionTarget,
  target: TargetName,
  kind: K,
  workload?: Workload,
): Recommendation & { strategy: Extract<Strategy, { kind: K }>; window: Window } {
  const w =
    workload ?? (typeof t.workload === 'object' ? t.workload : parseWorkload(t.workload ?? 'idle'));
  const rec = tune({
    target,
    workload: w,
    qos: t.qos ?? 1,
    withinMs: toMs(t.within, 'within'),
    tolerateMs: toMs(t.tolerate ?? 1000, 'tolerate'),
    idleTimeoutMs: t.idleTimeout == null ? null : toMs(t.idleTimeout, 'idleTimeout'),
  }).find((r) => r.kind === kind);
  if (!rec?.strategy || !rec.window) throw new BadInputError(rec?.why ?? `no ${kind} setting`);
  return rec as Recommendation & { strategy: Extract<Strategy, { kind: K }>; window: Window };
}

/** `options` with `window` and `why` added as non-enumerable properties. */
export function explained<T extends object>(
  options: T,
  window: Window,
  why: string,
): T & Explained {
  return Object.defineProperties(options, {
    window: { value: window, enumerable: false },
    why: { value: why, enumerable: false },
  }) as T & Explained;
}
