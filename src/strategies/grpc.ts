/**
 * @grpc/grpc-js: keepalive_time_ms, keepalive_timeout_ms, keepalive_permit_without_calls. A ping
 * goes out keepalive_time after the last ack; data does not reset it (gRPC in docs/facts.md).
 */
import { sec } from '../core/window.js';
import { BadInputError } from '../errors.js';
import type { Workload } from '../core/workload.js';
import { keyValues, positiveMs, specMs } from './parse.js';
import { pingTimeout } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export interface GrpcStrategy {
  kind: 'grpc';
  timeMs: number;
  timeoutMs: number;
  withoutCalls: boolean;
}

/**
 * grpc-js pings only while a call is active (the publish workload's stream) unless
 * keepalive_permit_without_calls is set; the idle workload holds a connected channel, no call.
 */
const pings = (s: GrpcStrategy, w: Workload): boolean => s.withoutCalls || w.kind !== 'idle';

export const grpc: StrategyDef<GrpcStrategy> = {
  kind: 'grpc',
  usage: 'grpc:time=10s,timeout=5s[,without-calls=false]',
  help: 'keepalive_time_ms, keepalive_timeout_ms, keepalive_permit_without_calls (idle = channel, no call)',
  kernel: null,
  ownClientOnly: () => null,
  parse(body, what) {
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
  },
  format: (s) =>
    `grpc:time=${specMs(s.timeMs)},timeout=${specMs(s.timeoutMs)},without-calls=${s.withoutCalls}`,
  probeEveryMs: (s, w) => (pings(s, w) ? s.timeMs : null),
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath(s, c) {
    const { timeMs: k, timeoutMs: t } = s;
    if (!pings(s, c.workload))
      return {
        window: null,
        why: 'grpc-js pings only while a call is active (keepalive_permit_without_calls false); an idle channel never times out',
      };
    return {
      window: [t, k + t],
      why: `grpc-js: a keepalive ping ${sec(k)} after the last ack (data does not reset it), unacked for keepalive_timeout ${sec(t)}: (${sec(t)}, ${sec(k + t)}]`,
    };
  },
  tune: (ask) =>
    pingTimeout(
      ask,
      (p, t) => ({ kind: 'grpc', timeMs: p, timeoutMs: t, withoutCalls: true }),
      'grpc-js keepalive',
    ),
  tuneNotes: [
    'without-calls=true: grpc-js pings only while a call is active otherwise',
    'C-core and Go servers refuse pings more often than every 5 min without data (GOAWAY too_many_pings) unless they allow it; grpc-js then doubles its keepalive time',
  ],
};
