/**
 * The plain, serializable description of one experiment, and the parsers that turn CLI text into
 * it. Everything here is validated at the edge: a bad value becomes one BadInputError line and
 * nothing is created.
 */
import { BadInputError } from '../errors.js';
import { formatMs, parseDuration } from '../util/duration.js';

export type Strategy =
  | { kind: 'none' }
  | { kind: 'keepalive'; idleMs: number; intervalMs: number; count: number }
  | { kind: 'user-timeout'; timeoutMs: number }
  | { kind: 'heartbeat'; intervalMs: number; timeoutMs: number };

export type Workload = { kind: 'idle' } | { kind: 'publish'; rate: number };

export const FAULTS = ['graceful', 'kill', 'node-loss', 'partition', 'reset', 'ip-reuse'] as const;
export type FaultName = (typeof FAULTS)[number];

export const TARGETS = ['tcp'] as const;
export type TargetName = (typeof TARGETS)[number];

export const TESTBEDS = ['netns'] as const;
export type TestbedName = (typeof TESTBEDS)[number];

/** Per-namespace TCP sysctls a user may set in the client namespace (net.ipv4.<name>). */
export const CLIENT_SYSCTLS: Record<string, [min: number, max: number]> = {
  tcp_retries1: [1, 255],
  tcp_retries2: [1, 255],
  tcp_syn_retries: [1, 127],
  tcp_keepalive_time: [1, 32767],
  tcp_keepalive_intvl: [1, 32767],
  tcp_keepalive_probes: [1, 127],
};

export interface ExperimentSpec {
  testbed: TestbedName;
  target: TargetName;
  strategy: Strategy;
  workload: Workload;
  fault: FaultName;
  /** partition only: remove the drop this long after T0. */
  healMs: number | null;
  /** How long after T0 detection may take before it counts as "not detected". */
  deadlineMs: number;
  /** Time between the client's first connection and the fault, so the flow is in steady state. */
  warmupMs: number;
  /** net.ipv4.* sysctls for the client namespace. */
  sysctls: Record<string, number>;
}

const TCP_KEEPALIVE_MAX_S = 32767;

function keyValues(body: string, what: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
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
  for (const key of allowed) {
    if (!out.has(key))
      throw new BadInputError(
        `${what}: missing '${key}=' (expected ${allowed.map((k) => `${k}=`).join(',')})`,
      );
  }
  return out;
}

function wholeSeconds(text: string, what: string): number {
  const ms = parseDuration(text, what);
  if (ms < 1000 || ms % 1000 !== 0 || ms / 1000 > TCP_KEEPALIVE_MAX_S) {
    throw new BadInputError(
      `${what}: '${text}' must be whole seconds from 1s to ${TCP_KEEPALIVE_MAX_S}s (the kernel counts keepalive in seconds)`,
    );
  }
  return ms;
}

function positiveMs(text: string, what: string): number {
  const ms = parseDuration(text, what);
  if (ms < 1 || !Number.isInteger(ms))
    throw new BadInputError(`${what}: '${text}' must be at least 1ms, in whole milliseconds`);
  return ms;
}

export function parseStrategy(text: string): Strategy {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const body = colon < 0 ? '' : text.slice(colon + 1);
  const what = `strategy '${text}'`;
  switch (kind) {
    case 'none':
      if (body) throw new BadInputError(`${what}: 'none' takes no options`);
      return { kind: 'none' };
    case 'keepalive': {
      const kv = keyValues(body, what, ['idle', 'interval', 'count']);
      const count = Number(kv.get('count'));
      if (!Number.isInteger(count) || count < 1 || count > 127) {
        throw new BadInputError(
          `${what}: count '${kv.get('count')}' must be an integer from 1 to 127`,
        );
      }
      return {
        kind: 'keepalive',
        idleMs: wholeSeconds(kv.get('idle')!, `${what} idle`),
        intervalMs: wholeSeconds(kv.get('interval')!, `${what} interval`),
        count,
      };
    }
    case 'user-timeout':
      if (!body)
        throw new BadInputError(`${what}: expected user-timeout:<duration>, e.g. user-timeout:3s`);
      return { kind: 'user-timeout', timeoutMs: positiveMs(body, what) };
    case 'heartbeat': {
      const kv = keyValues(body, what, ['interval', 'timeout']);
      return {
        kind: 'heartbeat',
        intervalMs: positiveMs(kv.get('interval')!, `${what} interval`),
        timeoutMs: positiveMs(kv.get('timeout')!, `${what} timeout`),
      };
    }
    default:
      throw new BadInputError(
        `strategy '${text}' is unknown (expected none, keepalive:idle=2s,interval=1s,count=3, user-timeout:3s, heartbeat:interval=1s,timeout=2s)`,
      );
  }
}

export function formatStrategy(s: Strategy): string {
  const sec = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
  switch (s.kind) {
    case 'none':
      return 'none';
    case 'keepalive':
      return `keepalive:idle=${sec(s.idleMs)},interval=${sec(s.intervalMs)},count=${s.count}`;
    case 'user-timeout':
      return `user-timeout:${sec(s.timeoutMs)}`;
    case 'heartbeat':
      return `heartbeat:interval=${sec(s.intervalMs)},timeout=${sec(s.timeoutMs)}`;
  }
}

export function parseWorkload(text: string): Workload {
  if (text === 'idle') return { kind: 'idle' };
  const m = /^publish:(\d+(?:\.\d+)?)$/.exec(text);
  if (m) {
    const rate = Number(m[1]);
    if (rate > 0 && rate <= 10_000) return { kind: 'publish', rate };
  }
  throw new BadInputError(
    `workload '${text}' is unknown (expected idle or publish:<messages per second, 0-10000>, e.g. publish:10)`,
  );
}

export function formatWorkload(w: Workload): string {
  return w.kind === 'idle' ? 'idle' : `publish:${w.rate}`;
}

export function parseChoice<T extends string>(
  text: string,
  choices: readonly T[],
  what: string,
): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new BadInputError(`${what} '${text}' is unknown (expected one of: ${choices.join(', ')})`);
}

export function parseSysctl(text: string, into: Record<string, number>): Record<string, number> {
  const m = /^(?:net\.ipv4\.)?([a-z0-9_]+)=(\d+)$/.exec(text);
  const range = m ? CLIENT_SYSCTLS[m[1]!] : undefined;
  if (!m || !range) {
    throw new BadInputError(
      `sysctl '${text}' is not allowed (expected <name>=<integer> with name one of ${Object.keys(CLIENT_SYSCTLS).join(', ')})`,
    );
  }
  const value = Number(m[2]);
  if (value < range[0] || value > range[1]) {
    throw new BadInputError(`sysctl '${text}': ${m[1]} must be from ${range[0]} to ${range[1]}`);
  }
  return { ...into, [m[1]!]: value };
}

/** Cross-field rules that a single flag cannot check. */
export function validateSpec(spec: ExperimentSpec): ExperimentSpec {
  if (spec.healMs !== null && spec.fault !== 'partition') {
    throw new BadInputError(`--heal applies to the partition fault only (fault is ${spec.fault})`);
  }
  if (spec.healMs !== null && spec.healMs >= spec.deadlineMs) {
    throw new BadInputError(
      `--heal ${formatMs(spec.healMs)} must be shorter than --deadline ${formatMs(spec.deadlineMs)}`,
    );
  }
  if (spec.warmupMs > 600_000) {
    throw new BadInputError(`--warmup ${formatMs(spec.warmupMs)} must be at most 10m`);
  }
  if (spec.deadlineMs < 100 || spec.deadlineMs > 24 * 3_600_000) {
    throw new BadInputError(`--deadline ${formatMs(spec.deadlineMs)} must be from 100ms to 24h`);
  }
  return spec;
}
