/**
 * The timeline's vocabulary. Clients and targets are child processes that print one JSON object
 * per line on stdout ({ t, type, ... }, t = hrtime nanoseconds as a decimal string); the runner
 * adds its own lab events. Every union is closed: consumers switch on `type` exhaustively.
 */
import { now } from './util/clock.js';
import { watchTimerLateness } from './util/lateness.js';

export interface Endpoint {
  address: string;
  port: number;
}

/**
 * The process's own timer lateness over the last `period_ms` (util/lateness.ts): every child that
 * reports events reports this too.
 */
export interface LatenessEvent {
  type: 'lateness';
  max_ms: number;
  p99_ms: number;
  period_ms: number;
}

export type ClientEvent =
  | LatenessEvent
  | { type: 'connecting'; attempt: number }
  | {
      type: 'connected';
      attempt: number;
      /** Where the client library exposes its socket; otherwise the runner asks the kernel. */
      local?: Endpoint;
      remote?: Endpoint;
      /** Socket options as read back from the kernel after the strategy set them. */
      sockopts?: Record<string, number | boolean>;
    }
  | { type: 'connect_failed'; attempt: number; code: string }
  | { type: 'sent'; seq: number }
  | { type: 'send_failed'; seq: number; error: string }
  /** subscribe workload: a message the client received. */
  | { type: 'recv'; seq: number }
  /** Every status event the protocol library emits, as it named it (NATS status, MQTT events). */
  | { type: 'status'; name: string; detail?: string }
  | { type: 'ping'; n: number }
  | { type: 'pong'; n: number }
  /** The client's first visible failure on a connection: the measurement `detect_ms` reads. */
  | { type: 'detected'; reason: string; code?: string }
  | { type: 'closed' }
  /** Your own client (--client-cmd): a line it printed, and its exit. */
  | { type: 'log'; line: string }
  | { type: 'exited'; code: number | string }
  | { type: 'backoff'; delayMs: number }
  | { type: 'fatal'; error: string };

export type TargetEvent =
  | LatenessEvent
  | { type: 'listening'; address: string; port: number }
  | { type: 'accepted'; remote: Endpoint }
  | { type: 'hello'; client: string; attempt: number }
  /** The sink: one event per message sequence number received. */
  | { type: 'recv'; seq: number }
  | { type: 'conn_closed'; remote: Endpoint; reason: string }
  /** The lab's ws, gRPC and HTTP/2 servers pushing to a subscribing client. */
  | { type: 'sent'; seq: number }
  | { type: 'send_failed'; seq: number; error: string }
  /** The server's own heartbeat gave up on a client (ws side=server|both). */
  | { type: 'peer_timeout'; what: string }
  | { type: 'stopping'; signal: string }
  /** A broker's log line, as it printed it (brokers report through their logs). */
  | { type: 'log'; line: string }
  | { type: 'fatal'; error: string };

/**
 * The far side of the fault for broker targets: a process in the server namespace that talks to
 * the broker over loopback, untouched by the fault. It receives what the client publishes, or
 * publishes what a subscribing client should receive.
 */
export type SinkEvent =
  | LatenessEvent
  | { type: 'ready' }
  | { type: 'recv'; seq: number }
  | { type: 'sent'; seq: number }
  | { type: 'send_failed'; seq: number; error: string }
  | { type: 'status'; name: string; detail?: string }
  | { type: 'fatal'; error: string };

export type LabEvent =
  | { type: 'fault'; name: string; phase: 'start' | 'applied'; detail?: string }
  | { type: 'heal'; phase: 'start' | 'applied' }
  /** The target is started again after graceful, kill or node-loss (`--restart`). */
  | { type: 'restart'; phase: 'start' | 'applied' }
  | { type: 'target_signal'; signal: string }
  | { type: 'fresh_host_up' }
  /**
   * Kubernetes, on the kube testbed: what changed on an object (`pod` nats-0 `SIGTERM`, `endpoint`
   * nats-0 `terminating`, `node` node1 `NotReady`), as the cluster's event stream would say it.
   * `ip`: where the client's connection is at T0 and at the stop, the pod's address ('' for none).
   */
  | { type: 'k8s'; object: KubeObject; name: string; change: string; ip?: string }
  | { type: 'deadline' }
  | { type: 'stop'; reason: string };

/** The kinds of Kubernetes object the kube testbed reports changes of. */
export type KubeObject =
  'pod' | 'endpoint' | 'node' | 'service' | 'policy' | 'forward' | 'conntrack';

export type Source = 'client' | 'target' | 'sink' | 'lab';

/** `pod`: the replica pod an event came from, on the kube testbed. */
export type TimelineEntry = { t: bigint; pod?: string } & (
  | ({ src: 'client' } & ClientEvent)
  | ({ src: 'target' } & TargetEvent)
  | ({ src: 'sink' } & SinkEvent)
  | ({ src: 'lab' } & LabEvent)
);

/** Child side: print one event line with a monotonic timestamp. */
export function emit(event: ClientEvent | TargetEvent | SinkEvent): void {
  watchTimerLateness();
  process.stdout.write(`${JSON.stringify({ t: now().toString(), ...event })}\n`);
}

/** Serializes a timeline entry as one JSON line (bigint t as a string). */
export function entryToJson(e: TimelineEntry): string {
  return JSON.stringify({ ...e, t: e.t.toString() });
}
