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
  | { kind: 'heartbeat'; intervalMs: number; timeoutMs: number }
  /** nats.js: pingInterval, maxPingOut, reconnectTimeWait, maxReconnectAttempts (-1: forever). */
  | { kind: 'nats'; pingMs: number; maxOut: number; waitMs: number; attempts: number }
  /** MQTT.js: keepalive (whole seconds; 0 disables), reconnectPeriod. */
  | { kind: 'mqtt'; keepaliveMs: number; reconnectMs: number }
  /**
   * ws: the ping/pong heartbeat of ws's README. `client`: the client pings every `pingMs` and gives
   * up on a pong `timeoutMs` late; `server`: the server pings, and the client gives up when the
   * next ping is `timeoutMs` overdue (README: interval + latency); `both`: whichever comes first.
   */
  | { kind: 'ws'; pingMs: number; timeoutMs: number; side: WsSide }
  /** @grpc/grpc-js: keepalive_time_ms, keepalive_timeout_ms, keepalive_permit_without_calls. */
  | { kind: 'grpc'; timeMs: number; timeoutMs: number; withoutCalls: boolean }
  /** node:http2: session.ping() every `pingMs`; an ack `timeoutMs` late ends the session. */
  | { kind: 'h2'; pingMs: number; timeoutMs: number };

export const WS_SIDES = ['client', 'server', 'both'] as const;

/**
 * What a middlebox does with the next packet of a flow it has forgotten: drop it silently (Azure
 * Load Balancer by default) or answer it with RST (AWS NLB, Azure with TCP reset enabled).
 */
export const EXPIRY_ACTIONS = ['drop', 'reset'] as const;
export type ExpiryAction = (typeof EXPIRY_ACTIONS)[number];

/** The idle-timeout fault: a flow idle this long is forgotten; its next packet meets `onExpiry`. */
export interface IdleTimeout {
  ms: number;
  onExpiry: ExpiryAction;
}
export type WsSide = (typeof WS_SIDES)[number];

/**
 * `publish`: the client sends, the sink on the target's side receives. `subscribe`: the far side
 * publishes at `rate` and the client receives (brokers only).
 */
export type Workload =
  { kind: 'idle' } | { kind: 'publish'; rate: number } | { kind: 'subscribe'; rate: number };

export const FAULTS = [
  'graceful',
  'kill',
  'node-loss',
  'partition',
  'reset',
  'ip-reuse',
  'proxy-dead-upstream',
  'latency',
  'idle-timeout',
] as const;
export type FaultName = (typeof FAULTS)[number];

export const TARGETS = ['tcp', 'nats', 'mqtt', 'ws', 'grpc', 'h2'] as const;
export type TargetName = (typeof TARGETS)[number];

/** Which strategies each target's client understands, and its default (the library's own). */
export const TARGET_STRATEGIES: Record<TargetName, { kinds: Strategy['kind'][]; default: string }> =
  {
    tcp: { kinds: ['none', 'keepalive', 'user-timeout', 'heartbeat'], default: 'none' },
    nats: { kinds: ['nats'], default: 'nats:ping=2m,maxout=2' },
    mqtt: { kinds: ['mqtt'], default: 'mqtt:keepalive=60s' },
    // ws, grpc-js (keepalive_time_ms unset) and node:http2 send no heartbeat unless told to.
    ws: { kinds: ['none', 'ws'], default: 'none' },
    grpc: { kinds: ['none', 'grpc'], default: 'none' },
    h2: { kinds: ['none', 'h2'], default: 'none' },
  };

/** Targets with a broker, where a sink on the far side counts and publishes. */
export const BROKER_TARGETS: readonly TargetName[] = ['nats', 'mqtt'];
/** The lab's own servers that push to a subscribing client themselves. */
export const PUSHING_TARGETS: readonly TargetName[] = ['ws', 'grpc', 'h2'];

/** Faults after which the target can be brought back (`--restart`), as Kubernetes restarts a pod. */
export const RESTARTABLE_FAULTS: readonly FaultName[] = ['graceful', 'kill', 'node-loss'];

export const TESTBEDS = ['netns', 'proxy'] as const;
export type TestbedName = (typeof TESTBEDS)[number];

/** The faults each testbed can put on the path. */
export const TESTBED_FAULTS: Record<TestbedName, readonly FaultName[]> = {
  // latency on netns needs netem (sch_netem), which not every kernel has: this one has not.
  netns: FAULTS.filter((f) => f !== 'latency'),
  proxy: [
    'graceful',
    'kill',
    'partition',
    'reset',
    'proxy-dead-upstream',
    'latency',
    'idle-timeout',
  ],
};

/** Per-namespace TCP sysctls a user may set in the client namespace (net.ipv4.<name>). */
export const CLIENT_SYSCTLS: Record<string, [min: number, max: number]> = {
  tcp_retries1: [1, 255],
  tcp_retries2: [1, 255],
  tcp_syn_retries: [1, 127],
  tcp_keepalive_time: [1, 32767],
  tcp_keepalive_intvl: [1, 32767],
  tcp_keepalive_probes: [1, 127],
};

/**
 * Your own client program instead of the lab's (`--client-cmd`): a shell command run in the
 * client namespace. Detection is read from the kernel (and from its output with `detectLog`).
 */
export interface OwnClient {
  command: string;
  /** A line of the program's output matching this (a JavaScript regex) is a detection too. */
  detectLog: string | null;
  /** The user described the program's settings with --strategy: predict from them. */
  declared: boolean;
}

/** Your own client from its command (none: the built-in client), as the CLI and files give it. */
export function ownClientOf(
  command: string | undefined,
  detectLog: string | undefined,
  declared: boolean,
): OwnClient | undefined {
  return command === undefined ? undefined : { command, detectLog: detectLog ?? null, declared };
}

/** TCP-level settings any program can have, whatever protocol it speaks on top. */
const TCP_STRATEGIES: readonly Strategy['kind'][] = ['none', 'keepalive', 'user-timeout'];

export interface ExperimentSpec {
  testbed: TestbedName;
  target: TargetName;
  /** Set: the client is the user's program, and `strategy` what they say it does. */
  own?: OwnClient;
  strategy: Strategy;
  workload: Workload;
  fault: FaultName;
  /** partition only: remove the drop this long after T0. */
  healMs: number | null;
  /** latency only: the delay added each way, and its jitter (+-). */
  latency?: { ms: number; jitterMs: number };
  /** idle-timeout only: how long a flow may be idle before the middlebox forgets it. */
  idleTimeout?: IdleTimeout;
  /** graceful, kill, node-loss: start the target again this long after T0. */
  restartMs: number | null;
  /** MQTT quality of service for publish and subscribe (0 elsewhere). */
  qos: 0 | 1;
  /** How long after T0 detection may take before it counts as "not detected". */
  deadlineMs: number;
  /** Time between the client's first connection and the fault, so the flow is in steady state. */
  warmupMs: number;
  /** net.ipv4.* sysctls for the client namespace. */
  sysctls: Record<string, number>;
}

export const TCP_KEEPALIVE_MAX_S = 32767;

function keyValues(
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

function wholeSeconds(text: string, what: string): number {
  const ms = parseDuration(text, what);
  if (ms < 1000 || ms % 1000 !== 0 || ms / 1000 > TCP_KEEPALIVE_MAX_S) {
    throw new BadInputError(
      `${what}: '${text}' must be whole seconds from 1s to ${TCP_KEEPALIVE_MAX_S}s (the kernel counts keepalive in seconds)`,
    );
  }
  return ms;
}

function integerIn(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || n < min || n > max)
    throw new BadInputError(`${what} '${text}' must be an integer from ${min} to ${max}`);
  return n;
}

/** Node's timers hold at most 2^31 - 1 ms (24.8 days); a day is plenty for any interval here. */
const MAX_INTERVAL_MS = 24 * 3_600_000;

function positiveMs(text: string, what: string): number {
  const ms = parseDuration(text, what);
  if (ms < 1 || !Number.isInteger(ms) || ms > MAX_INTERVAL_MS)
    throw new BadInputError(`${what}: '${text}' must be from 1ms to 24h, in whole milliseconds`);
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
      return {
        kind: 'keepalive',
        idleMs: wholeSeconds(kv.get('idle')!, `${what} idle`),
        intervalMs: wholeSeconds(kv.get('interval')!, `${what} interval`),
        count: integerIn(kv.get('count')!, `${what}: count`, 1, 127),
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
    case 'nats': {
      // Library defaults (nats.js core/src/options.ts) for what the user leaves out.
      const kv = keyValues(body, what, ['ping', 'maxout'], ['wait', 'attempts']);
      const attempts = integerIn(kv.get('attempts') ?? '10', `${what}: attempts`, -1, 1_000_000);
      if (attempts === 0) throw new BadInputError(`${what}: attempts must be -1 (forever) or >= 1`);
      return {
        kind: 'nats',
        pingMs: positiveMs(kv.get('ping')!, `${what} ping`),
        maxOut: integerIn(kv.get('maxout')!, `${what}: maxout`, 1, 1000),
        waitMs: positiveMs(kv.get('wait') ?? '2s', `${what} wait`),
        attempts,
      };
    }
    case 'mqtt': {
      const kv = keyValues(body, what, ['keepalive'], ['reconnect']);
      const keepalive = kv.get('keepalive')!;
      const keepaliveMs = parseDuration(keepalive, `${what} keepalive`);
      if (keepaliveMs % 1000 !== 0 || keepaliveMs > 65_535_000)
        throw new BadInputError(
          `${what}: keepalive '${keepalive}' must be whole seconds from 0s to 65535s (MQTT counts keepalive in seconds; 0 disables it)`,
        );
      return {
        kind: 'mqtt',
        keepaliveMs,
        reconnectMs: positiveMs(kv.get('reconnect') ?? '1s', `${what} reconnect`),
      };
    }
    case 'ws': {
      const kv = keyValues(body, what, ['ping', 'timeout'], ['side']);
      return {
        kind: 'ws',
        pingMs: positiveMs(kv.get('ping')!, `${what} ping`),
        timeoutMs: positiveMs(kv.get('timeout')!, `${what} timeout`),
        side: parseChoice(kv.get('side') ?? 'client', WS_SIDES, `${what}: side`),
      };
    }
    case 'grpc': {
      const kv = keyValues(body, what, ['time', 'timeout'], ['without-calls']);
      const without = kv.get('without-calls') ?? 'false';
      if (without !== 'true' && without !== 'false')
        throw new BadInputError(`${what}: without-calls '${without}' must be true or false`);
      return {
        kind: 'grpc',
        timeMs: positiveMs(kv.get('time')!, `${what} time`),
        timeoutMs: positiveMs(kv.get('timeout')!, `${what} timeout`),
        withoutCalls: without === 'true',
      };
    }
    case 'h2': {
      const kv = keyValues(body, what, ['ping', 'timeout']);
      return {
        kind: 'h2',
        pingMs: positiveMs(kv.get('ping')!, `${what} ping`),
        timeoutMs: positiveMs(kv.get('timeout')!, `${what} timeout`),
      };
    }
    default:
      throw new BadInputError(
        `strategy '${text}' is unknown (expected none, keepalive:idle=2s,interval=1s,count=3, user-timeout:3s, heartbeat:interval=1s,timeout=2s, nats:ping=5s,maxout=2, mqtt:keepalive=10s, ws:ping=1s,timeout=1s[,side=client|server|both], grpc:time=1s,timeout=1s[,without-calls=true], h2:ping=1s,timeout=1s)`,
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
    case 'nats':
      return `nats:ping=${sec(s.pingMs)},maxout=${s.maxOut},wait=${sec(s.waitMs)},attempts=${s.attempts}`;
    case 'mqtt':
      return `mqtt:keepalive=${sec(s.keepaliveMs)},reconnect=${sec(s.reconnectMs)}`;
    case 'ws':
      return `ws:ping=${sec(s.pingMs)},timeout=${sec(s.timeoutMs)},side=${s.side}`;
    case 'grpc':
      return `grpc:time=${sec(s.timeMs)},timeout=${sec(s.timeoutMs)},without-calls=${s.withoutCalls}`;
    case 'h2':
      return `h2:ping=${sec(s.pingMs)},timeout=${sec(s.timeoutMs)}`;
  }
}

export function parseWorkload(text: string): Workload {
  if (text === 'idle') return { kind: 'idle' };
  const m = /^(publish|subscribe):(\d+(?:\.\d+)?)$/.exec(text);
  if (m) {
    const rate = Number(m[2]);
    if (rate >= 0.01 && rate <= 10_000) return { kind: m[1] as 'publish' | 'subscribe', rate };
  }
  throw new BadInputError(
    `workload '${text}' is unknown (expected idle, publish:<rate> or subscribe:<rate>, in messages per second from 0.01 to 10000, e.g. publish:10)`,
  );
}

export function formatWorkload(w: Workload): string {
  return w.kind === 'idle' ? 'idle' : `${w.kind}:${w.rate}`;
}

/** `--qos`: MQTT's quality of service, 0 (the default) or 1. */
export function parseQos(text: string | undefined): 0 | 1 {
  if (text === undefined || text === '0') return 0;
  if (text === '1') return 1;
  throw new BadInputError(`--qos '${text}' is not supported (expected 0 or 1)`);
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
  if (!TESTBED_FAULTS[spec.testbed].includes(spec.fault)) {
    throw new BadInputError(
      `fault ${spec.fault} is not available on the ${spec.testbed} testbed (it has: ${TESTBED_FAULTS[spec.testbed].join(', ')}); ${spec.fault === 'latency' ? 'latency needs --testbed proxy' : `${spec.fault} needs --testbed netns (root)`}`,
    );
  }
  if (spec.testbed === 'proxy' && Object.keys(spec.sysctls).length > 0) {
    throw new BadInputError(
      '--sysctl needs the netns testbed (the proxy testbed runs on the host)',
    );
  }
  if ((spec.fault === 'idle-timeout') !== (spec.idleTimeout !== undefined)) {
    throw new BadInputError(
      spec.fault === 'idle-timeout'
        ? 'fault idle-timeout needs --idle-timeout <duration> (and optionally --on-expiry drop|reset)'
        : `--idle-timeout and --on-expiry apply to the idle-timeout fault only (fault is ${spec.fault})`,
    );
  }
  if (spec.idleTimeout) {
    const { ms } = spec.idleTimeout;
    // conntrack keeps its timeouts in whole seconds.
    if (spec.testbed === 'netns' && (ms < 1000 || ms % 1000 !== 0))
      throw new BadInputError(
        `--idle-timeout ${formatMs(ms)} must be whole seconds from 1s on the netns testbed (conntrack counts seconds)`,
      );
    if (ms < 100 || ms > 6 * 3_600_000)
      throw new BadInputError(`--idle-timeout ${formatMs(ms)} must be from 100ms to 6h`);
  }
  if ((spec.fault === 'latency') !== (spec.latency !== undefined)) {
    throw new BadInputError(
      spec.fault === 'latency'
        ? 'fault latency needs --latency <duration> (and optionally --jitter <duration>)'
        : `--latency and --jitter apply to the latency fault only (fault is ${spec.fault})`,
    );
  }
  const fits = TARGET_STRATEGIES[spec.target];
  const kinds = spec.own ? [...new Set([...TCP_STRATEGIES, ...fits.kinds])] : fits.kinds;
  if (spec.own) validateOwnClient(spec.own);
  if (!kinds.includes(spec.strategy.kind)) {
    throw new BadInputError(
      `strategy '${formatStrategy(spec.strategy)}' does not apply to target ${spec.target} (expected ${kinds.join(' or ')}, e.g. ${fits.default})`,
    );
  }
  if (
    spec.workload.kind === 'subscribe' &&
    !BROKER_TARGETS.includes(spec.target) &&
    !PUSHING_TARGETS.includes(spec.target)
  ) {
    throw new BadInputError(
      `workload '${formatWorkload(spec.workload)}' needs a target that pushes (${[...BROKER_TARGETS, ...PUSHING_TARGETS].join(', ')}); the tcp server only receives`,
    );
  }
  if (spec.qos !== 0 && spec.target !== 'mqtt') {
    throw new BadInputError(`--qos applies to target mqtt only (target is ${spec.target})`);
  }
  if (spec.restartMs !== null && !RESTARTABLE_FAULTS.includes(spec.fault)) {
    throw new BadInputError(
      `--restart applies to ${RESTARTABLE_FAULTS.join(', ')} only (fault is ${spec.fault})`,
    );
  }
  if (spec.restartMs !== null && spec.restartMs >= spec.deadlineMs) {
    throw new BadInputError(
      `--restart ${formatMs(spec.restartMs)} must be shorter than --deadline ${formatMs(spec.deadlineMs)}`,
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

function validateOwnClient(own: OwnClient): void {
  if (own.command.trim() === '') throw new BadInputError('--client-cmd is empty');
  if (own.detectLog !== null) {
    try {
      new RegExp(own.detectLog);
    } catch (err) {
      throw new BadInputError(
        `--detect-log '${own.detectLog}' is not a regular expression: ${(err as Error).message}`,
      );
    }
  }
}
