/**
 * halfopen as a library for Node applications (`import ... from 'halfopen/lib'`): option builders
 * from one detection target, a heartbeat watchdog for streams with none, and a graceful shutdown
 * helper for servers. Imports none of the protocol libraries: they are the app's own.
 */
export {
  natsOptions,
  mqttOptions,
  grpcOptions,
  wsHeartbeat,
  h2Heartbeat,
  socketHeartbeat,
  socketOptions,
  type Heartbeat,
  type SocketOptions,
} from './options.js';
export type { NatsOptions, MqttOptions, GrpcOptions } from './from-strategy.js';
export type { DetectionTarget, Duration, Explained } from './target.js';
export { applySocketOptions } from './socket.js';
export {
  watchdog,
  wsWatchdog,
  h2Watchdog,
  socketWatchdog,
  Watchdog,
  type WatchdogOptions,
  type HeartbeatOptions,
  type SocketWatchdogOptions,
  type WsLike,
  type H2SessionLike,
  type SocketLike,
} from './watchdog.js';
export {
  gracefulShutdown,
  kubernetesSettings,
  type ShutdownOptions,
  type ShutdownResult,
  type Shutdown,
  type ShutdownServer,
  type KubernetesSettings,
} from './shutdown.js';
export { BadInputError } from '../errors.js';
