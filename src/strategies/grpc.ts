/**
 * gRPC keepalive: time, timeout, permit-without-calls, by one library's rule (`lib=`): grpc-js
 * (the lab's client) pings keepalive_time after the last ack and data does not reset it; grpc-go
 * and grpc-java ping Time after the last data read, raise a Time below 10 s to 10 s, and set
 * TCP_USER_TIMEOUT to the keepalive timeout on the socket (grpc-java with Netty's epoll
 * transport), so a publisher's unacknowledged data aborts it sooner (gRPC in docs/facts.md).
 */
import { sec } from '../core/window.js';
import { BadInputError } from '../errors.js';
import type { Workload } from '../core/workload.js';
import { sendGapMs } from '../core/workload.js';
import { keyValues, parseChoice, positiveMs, specMs } from './parse.js';
import { pingTimeout } from './tune-kit.js';
import { userTimeout } from './user-timeout.js';
import type { StrategyDef } from './types.js';

export const GRPC_LIBS = ['js', 'go', 'java'] as const;
export type GrpcLib = (typeof GRPC_LIBS)[number];

export interface GrpcStrategy {
  kind: 'grpc';
  timeMs: number;
  timeoutMs: number;
  withoutCalls: boolean;
  /** Whose rule applies: grpc-js (the lab's client) unless your own client uses another. */
  lib: GrpcLib;
}

const LABEL: Record<GrpcLib, string> = { js: 'grpc-js', go: 'grpc-go', java: 'grpc-java' };
const WITHOUT: Record<GrpcLib, string> = {
  js: 'keepalive_permit_without_calls',
  go: 'PermitWithoutStream',
  java: 'keepAliveWithoutCalls',
};

/**
 * grpc-go (dialoptions.go WithKeepaliveParams, internal.KeepaliveMinPingTime) and grpc-java
 * (KeepAliveManager MIN_KEEPALIVE_TIME_NANOS) ping no more often than every 10 s.
 */
export const GRPC_MIN_TIME_MS = 10_000;

/** The Time the library really uses. */
export const grpcTimeMs = (s: GrpcStrategy): number =>
  s.lib === 'js' ? s.timeMs : Math.max(s.timeMs, GRPC_MIN_TIME_MS);

/**
 * The libraries ping only while a call is active (the publish workload's stream) unless
 * permit-without-calls is set; the idle workload holds a connected channel, no call.
 */
const pings = (s: GrpcStrategy, w: Workload): boolean => s.withoutCalls || w.kind !== 'idle';

export const grpc: StrategyDef<GrpcStrategy> = {
  kind: 'grpc',
  usage: 'grpc:time=10s,timeout=5s[,without-calls=false][,lib=js|go|java]',
  help: "keepalive time, timeout, permit-without-calls (idle = channel, no call); lib= names whose rule applies to your own client: js (grpc-js, the lab's), go (grpc-go), java (grpc-java)",
  keys: [
    { key: 'time', required: true, help: 'keepalive time: the pause before a ping' },
    {
      key: 'timeout',
      required: true,
      help: 'keepalive timeout: how long a ping may go unacknowledged',
    },
    {
      key: 'without-calls',
      default: 'false',
      help: 'permit-without-calls: ping with no call active too (true or false)',
    },
    {
      key: 'lib',
      default: 'js',
      help: "whose rule applies: js (grpc-js, the lab's client); go, java for your own",
    },
  ],
  kernel: null,
  ownClientOnly: (s) =>
    s.lib === 'js'
      ? null
      : `lib=${s.lib} is the rule of your own client's library (--client-cmd); the lab's built-in grpc client is grpc-js (leave lib= out)`,
  parse(body, what) {
    const kv = keyValues(body, what, ['time', 'timeout'], ['without-calls', 'lib']);
    const without = kv.get('without-calls') ?? 'false';
    if (without !== 'true' && without !== 'false')
      throw new BadInputError(`${what}: without-calls '${without}' must be true or false`);
    return {
      kind: 'grpc',
      timeMs: positiveMs(kv.get('time')!, `${what} time`),
      timeoutMs: positiveMs(kv.get('timeout')!, `${what} timeout`),
      withoutCalls: without === 'true',
      lib: parseChoice(kv.get('lib') ?? 'js', GRPC_LIBS, `${what}: lib`),
    };
  },
  format: (s) =>
    `grpc:time=${specMs(s.timeMs)},timeout=${specMs(s.timeoutMs)},without-calls=${s.withoutCalls}${s.lib === 'js' ? '' : `,lib=${s.lib}`}`,
  probeEveryMs: (s, w) => (pings(s, w) ? grpcTimeMs(s) : null),
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath(s, c) {
    const who = LABEL[s.lib];
    const k = grpcTimeMs(s);
    const t = s.timeoutMs;
    const raised = k === s.timeMs ? '' : ` (time ${sec(s.timeMs)} raised to its minimum ${sec(k)})`;
    if (!pings(s, c.workload))
      return {
        window: null,
        why: `${who} pings only while a call is active (${WITHOUT[s.lib]} false); an idle channel never times out`,
      };
    if (s.lib !== 'js' && c.workload.kind === 'publish') {
      // TCP_USER_TIMEOUT = timeout: the kernel aborts once the data sent after T0 is that long
      // unacknowledged, unless the ping path ends first. grpc-java sets it only on Netty's epoll
      // transport, so its window keeps the ping path's end too.
      const u = userTimeout.silentPath({ kind: 'user-timeout', timeoutMs: t }, c);
      const [uMin, uMax] = u.window!;
      const max = s.lib === 'go' ? Math.min(uMax, k + t) : k + t;
      return {
        window: [Math.min(uMin, t), max],
        why: `${who}: TCP_USER_TIMEOUT set to timeout ${sec(t)}: ${u.why}${s.lib === 'java' ? ' (with the epoll transport; otherwise' : '; or'} a keepalive ping ${sec(k)}${raised} after the last ping ack or data read, unacked for ${sec(t)}${s.lib === 'java' ? ')' : ''}: (${sec(Math.min(uMin, t))}, ${sec(max)}]`,
      };
    }
    if (s.lib !== 'js' && c.workload.kind === 'subscribe') {
      // Data read resets the Go and Java timers: the ping goes out Time after the last message.
      const since = Math.min(sendGapMs({ kind: 'publish', rate: c.workload.rate }), k);
      return {
        window: [k - since + t, k + t],
        why: `${who}: a keepalive ping ${sec(k)}${raised} after the last data read (a message came within ${sec(since)} before T0), unacked for timeout ${sec(t)}: (${sec(k - since + t)}, ${sec(k + t)}]`,
      };
    }
    return {
      window: [t, k + t],
      why: `${who}: a keepalive ping ${sec(k)}${raised} after the last ${s.lib === 'js' ? 'ack (data does not reset it)' : 'ping ack or data read'}, unacked for timeout ${sec(t)}: (${sec(t)}, ${sec(k + t)}]`,
    };
  },
  tune(ask) {
    const lib = (GRPC_LIBS as readonly string[]).includes(ask.lib ?? '')
      ? (ask.lib as GrpcLib)
      : 'js';
    const made = pingTimeout(
      ask,
      (p, t) => ({ kind: 'grpc' as const, timeMs: p, timeoutMs: t, withoutCalls: true, lib }),
      `${LABEL[lib]} keepalive`,
    );
    // grpc-go and grpc-java would raise a shorter Time to 10 s: recommend what they will use, and
    // let its window (TCP_USER_TIMEOUT may still notice in time while publishing) decide.
    if (typeof made !== 'string' && grpcTimeMs(made.strategy) !== made.strategy.timeMs)
      return {
        ...made,
        strategy: { ...made.strategy, timeMs: GRPC_MIN_TIME_MS },
        probeEveryMs: GRPC_MIN_TIME_MS,
        why: `${LABEL[lib]} keepalive: Time is at least ${sec(GRPC_MIN_TIME_MS)} (a smaller one is raised to it); timeout ${sec(made.toleratesMs)}, also its TCP_USER_TIMEOUT`,
      };
    return made;
  },
  tuneNotes: [
    'without-calls=true: the gRPC libraries ping only while a call is active otherwise',
    'C-core and Go servers refuse pings more often than every 5 min without data (GOAWAY too_many_pings) unless they allow it; grpc-js then doubles its keepalive time',
  ],
};
