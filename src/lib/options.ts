/**
 * Option builders: one detection target in, each client library's own options out, chosen by the
 * same search `halfopen tune` runs (src/advise/tune.ts). Each result also carries `window` and
 * `why`, as non-enumerable properties, so `connect({ servers, ...natsOptions(t) })` passes the
 * library nothing else.
 */
import { parseWorkload, type Workload } from '../core/workload.js';
import { sec } from '../core/window.js';
import {
  grpcChannelOptions,
  mqttConnectOptions,
  natsConnectOptions,
  type GrpcOptions,
  type MqttOptions,
  type NatsOptions,
} from './from-strategy.js';
import { explained, recommend, type DetectionTarget, type Explained } from './target.js';

/** nats.js: pingInterval, maxPingOut, reconnectTimeWait, maxReconnectAttempts. */
export function natsOptions(t: DetectionTarget): NatsOptions & Explained {
  const r = recommend(t, 'nats', 'nats');
  return explained(natsConnectOptions(r.strategy), r.window, r.why);
}

/** MQTT.js: keepalive (seconds) and reconnectPeriod (ms). */
export function mqttOptions(t: DetectionTarget): MqttOptions & Explained {
  const r = recommend(t, 'mqtt', 'mqtt');
  return explained(mqttConnectOptions(r.strategy), r.window, r.why);
}

/** grpc-js channel options: keepalive time, timeout, and pings without calls. */
export function grpcOptions(t: DetectionTarget): GrpcOptions & Explained {
  const r = recommend(t, 'grpc', 'grpc');
  return explained(grpcChannelOptions(r.strategy), r.window, r.why);
}

/** A ping/answer heartbeat's period and timeout (ms), as the watchdogs take them. */
export interface Heartbeat {
  interval: number;
  timeout: number;
}

/** The heartbeat for `wsWatchdog`: the client pings, and gives up on a pong `timeout` late. */
export function wsHeartbeat(t: DetectionTarget): Heartbeat & Explained {
  const r = recommend(t, 'ws', 'ws');
  return explained({ interval: r.strategy.pingMs, timeout: r.strategy.timeoutMs }, r.window, r.why);
}

/** The heartbeat for `h2Watchdog`: session.ping() every interval, an ack `timeout` late ends it. */
export function h2Heartbeat(t: DetectionTarget): Heartbeat & Explained {
  const r = recommend(t, 'h2', 'h2');
  return explained({ interval: r.strategy.pingMs, timeout: r.strategy.timeoutMs }, r.window, r.why);
}

/** The heartbeat for `socketWatchdog` (raw TCP framing of your choice). */
export function socketHeartbeat(t: DetectionTarget): Heartbeat & Explained {
  const r = recommend(t, 'tcp', 'heartbeat');
  return explained(
    { interval: r.strategy.intervalMs, timeout: r.strategy.timeoutMs },
    r.window,
    r.why,
  );
}

/** Kernel options for a node:net socket (see `applySocketOptions`). */
export interface SocketOptions {
  /** SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT: notices an idle silent peer. */
  keepalive: { idleMs: number; intervalMs: number; count: number };
  /** TCP_USER_TIMEOUT: notices a silent peer while data is unacknowledged. */
  userTimeoutMs: number;
}

/**
 * Keepalive for an idle socket and TCP_USER_TIMEOUT for one with data in flight (sent every
 * `1 / rate` s of the target's `publish:<rate>` workload; publish:10 when it names none).
 * `window` is keepalive's on an idle socket; `why` explains both.
 */
export function socketOptions(t: DetectionTarget): SocketOptions & Explained {
  const ka = recommend(t, 'tcp', 'keepalive', { kind: 'idle' });
  const w = typeof t.workload === 'string' ? parseWorkload(t.workload) : t.workload;
  const publish: Workload = { kind: 'publish', rate: w?.kind === 'publish' ? w.rate : 10 };
  const ut = recommend(t, 'tcp', 'user-timeout', publish);
  const { idleMs, intervalMs, count } = ka.strategy;
  return explained(
    { keepalive: { idleMs, intervalMs, count }, userTimeoutMs: ut.strategy.timeoutMs },
    ka.window,
    `idle: ${ka.why}; data in flight: ${ut.why} (at worst ${sec(ut.window[1])})`,
  );
}
