/**
 * The timeline's vocabulary. Clients and targets are child processes that print one JSON object
 * per line on stdout ({ t, type, ... }, t = hrtime nanoseconds as a decimal string); the runner
 * adds its own lab events. Every union is closed: consumers switch on `type` exhaustively.
 */
import { now } from './util/clock.js';

export interface Endpoint {
  address: string;
  port: number;
}

export type ClientEvent =
  | { type: 'connecting'; attempt: number }
  | {
      type: 'connected';
      attempt: number;
      local: Endpoint;
      remote: Endpoint;
      /** Socket options as read back from the kernel after the strategy set them. */
      sockopts: Record<string, number | boolean>;
    }
  | { type: 'connect_failed'; attempt: number; code: string }
  | { type: 'sent'; seq: number }
  | { type: 'send_failed'; seq: number; error: string }
  | { type: 'ping'; n: number }
  | { type: 'pong'; n: number }
  /** The client's first visible failure on a connection: the measurement `detect_ms` reads. */
  | { type: 'detected'; reason: string; code?: string }
  | { type: 'closed' }
  | { type: 'backoff'; delayMs: number }
  | { type: 'fatal'; error: string };

export type TargetEvent =
  | { type: 'listening'; address: string; port: number }
  | { type: 'accepted'; remote: Endpoint }
  | { type: 'hello'; client: string; attempt: number }
  /** The sink: one event per message sequence number received. */
  | { type: 'recv'; seq: number }
  | { type: 'conn_closed'; remote: Endpoint; reason: string }
  | { type: 'stopping'; signal: string }
  | { type: 'fatal'; error: string };

export type LabEvent =
  | { type: 'fault'; name: string; phase: 'start' | 'applied'; detail?: string }
  | { type: 'heal'; phase: 'start' | 'applied' }
  | { type: 'target_signal'; signal: string }
  | { type: 'fresh_host_up' }
  | { type: 'deadline' }
  | { type: 'stop'; reason: string };

export type Source = 'client' | 'target' | 'lab';

export type TimelineEntry = { t: bigint } & (
  | ({ src: 'client' } & ClientEvent)
  | ({ src: 'target' } & TargetEvent)
  | ({ src: 'lab' } & LabEvent)
);

/** Child side: print one event line with a monotonic timestamp. */
export function emit(event: ClientEvent | TargetEvent): void {
  process.stdout.write(`${JSON.stringify({ t: now().toString(), ...event })}\n`);
}

/** Serializes a timeline entry as one JSON line (bigint t as a string). */
export function entryToJson(e: TimelineEntry): string {
  return JSON.stringify({ ...e, t: e.t.toString() });
}
