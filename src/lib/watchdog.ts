/**
 * A heartbeat for streams that have none: ping every `interval`; when `timeout` passes after a
 * ping with nothing heard (no pong, no data), the peer is dead. The first unanswered ping goes
 * out within `interval` of the silence, so it is noticed within (timeout, interval + timeout],
 * the window of the lab's `heartbeat`, `ws` and `h2` strategies. Adapters for ws, HTTP/2 and a
 * raw socket are typed structurally, so none of those libraries is loaded or required.
 */
import { EventEmitter } from 'node:events';
import { sec } from '../core/window.js';
import { toMs, type Duration } from './target.js';

export interface HeartbeatOptions {
  /** How often to ping. */
  interval: Duration;
  /** How long after a ping with nothing heard the peer is dead. */
  timeout: Duration;
  /** Called with the reason when the peer is found dead (the 'dead' event also fires). */
  onDead?: (why: string) => void;
}

export interface WatchdogOptions extends HeartbeatOptions {
  /** Puts one ping on the wire; `false`: none could go (not connected yet), nothing to wait for. */
  ping: () => void | boolean;
}

/** Emits 'dead' (with the reason) once, when the peer is found dead. */
export class Watchdog extends EventEmitter<{ dead: [why: string] }> {
  private readonly timer: NodeJS.Timeout;
  private deadline: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: WatchdogOptions) {
    super();
    const interval = toMs(opts.interval, 'interval');
    const timeout = toMs(opts.timeout, 'timeout');
    this.timer = setInterval(() => {
      if (this.deadline || this.stopped) return;
      this.deadline = setTimeout(
        () => this.dead(`no answer to a ping within ${sec(timeout)}`),
        timeout,
      );
      if (opts.ping() === false) this.alive();
    }, interval);
  }

  /** Call on any inbound data or pong: the peer is alive. */
  alive(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }

  /** No more pings (the connection closed, or the app ends it). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.alive();
  }

  private dead(why: string): void {
    if (this.stopped) return;
    this.stop();
    this.opts.onDead?.(why);
    this.emit('dead', why);
  }
}

/** A heartbeat: `ping` every `interval`; nothing heard `timeout` after a ping calls `onDead`. */
export const watchdog = (opts: WatchdogOptions): Watchdog => new Watchdog(opts);

/** What `wsWatchdog` needs of a ws WebSocket. */
export interface WsLike {
  /** 1: open (ws throws on ping() while connecting). */
  readyState: number;
  ping(): void;
  terminate(): void;
  on(event: 'pong' | 'message' | 'ping' | 'close', fn: () => void): unknown;
}

/** ws: ping frames; a pong, a ping or a message is life; on death terminate() (no close frame). */
export function wsWatchdog(ws: WsLike, opts: HeartbeatOptions): Watchdog {
  const w = watchdog({
    ...opts,
    ping: () => ws.readyState === 1 && (ws.ping(), true),
    onDead: (why) => {
      ws.terminate();
      opts.onDead?.(why);
    },
  });
  for (const ev of ['pong', 'message', 'ping'] as const) ws.on(ev, () => w.alive());
  ws.on('close', () => w.stop());
  return w;
}

/** What `h2Watchdog` needs of a node:http2 session. */
export interface H2SessionLike {
  /** ping() throws on a closed or destroyed session, and waits while connecting. */
  readonly closed: boolean;
  readonly destroyed: boolean;
  ping(callback: (err: Error | null) => void): boolean;
  destroy(): void;
  on(event: 'close', fn: () => void): unknown;
}

/** HTTP/2: session.ping(); its ack is life; on death destroy the session (no 'error' event: the reason is in 'dead'). */
export function h2Watchdog(session: H2SessionLike, opts: HeartbeatOptions): Watchdog {
  const w = watchdog({
    ...opts,
    ping: () =>
      !session.closed && !session.destroyed && session.ping((err) => (err ? undefined : w.alive())),
    onDead: (why) => {
      session.destroy();
      opts.onDead?.(why);
    },
  });
  session.on('close', () => w.stop());
  return w;
}

/** What `socketWatchdog` needs of a node:net socket (a TLS socket fits too). */
export interface SocketLike {
  write(frame: string | Uint8Array): unknown;
  destroy(): void;
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'close', fn: () => void): unknown;
}

export interface SocketWatchdogOptions extends HeartbeatOptions {
  /** The frame your protocol pings with, or a function that makes each one. */
  ping: string | Uint8Array | (() => string | Uint8Array);
  /** Whether a chunk read from the socket answers the ping (default: any data is life). */
  isPong?: (chunk: Buffer) => boolean;
}

/** Raw TCP with your framing: writes `ping`, a chunk that `isPong` accepts is life, destroys on death. */
export function socketWatchdog(socket: SocketLike, opts: SocketWatchdogOptions): Watchdog {
  const { ping, isPong } = opts;
  const w = watchdog({
    ...opts,
    ping: () => void socket.write(typeof ping === 'function' ? ping() : ping),
    onDead: (why) => {
      socket.destroy();
      opts.onDead?.(why);
    },
  });
  socket.on('data', (chunk) => {
    if (!isPong || isPong(chunk)) w.alive();
  });
  socket.on('close', () => w.stop());
  return w;
}
