/**
 * A strategy as each client library's own options: what the lab's built-in clients pass to
 * nats.js, MQTT.js and grpc-js, and what the library's option builders return. Pure, and typed
 * without the libraries, so importing it loads none of them.
 */
import type { GrpcStrategy } from '../strategies/grpc.js';
import type { MqttStrategy } from '../strategies/mqtt.js';
import type { NatsStrategy } from '../strategies/nats.js';

/** nats.js `connect()` options for ping and reconnect. */
export interface NatsOptions {
  pingInterval: number;
  maxPingOut: number;
  reconnectTimeWait: number;
  /** -1: reconnect forever (the library's default gives up after 10). */
  maxReconnectAttempts: number;
}

/** MQTT.js `connect()` options: keepalive in whole seconds, reconnectPeriod in ms. */
export interface MqttOptions {
  keepalive: number;
  reconnectPeriod: number;
}

/** grpc-js channel options (the third argument of a client's constructor). */
export interface GrpcOptions {
  'grpc.keepalive_time_ms': number;
  'grpc.keepalive_timeout_ms': number;
  'grpc.keepalive_permit_without_calls': 0 | 1;
}

export const natsConnectOptions = (s: NatsStrategy): NatsOptions => ({
  pingInterval: s.pingMs,
  maxPingOut: s.maxOut,
  reconnectTimeWait: s.waitMs,
  maxReconnectAttempts: s.attempts,
});

export const mqttConnectOptions = (s: MqttStrategy): MqttOptions => ({
  keepalive: s.keepaliveMs / 1000,
  reconnectPeriod: s.reconnectMs,
});

export const grpcChannelOptions = (s: GrpcStrategy): GrpcOptions => ({
  'grpc.keepalive_time_ms': s.timeMs,
  'grpc.keepalive_timeout_ms': s.timeoutMs,
  'grpc.keepalive_permit_without_calls': s.withoutCalls ? 1 : 0,
});
