/**
 * A proxied connection: the client's socket, the proxy's socket to the upstream, and a link for
 * each direction. A FIN from either side is passed on (after the data before it); an error or
 * RST on either side resets the other; when both sockets are gone, the connection is.
 */
import type { Socket } from 'node:net';
import { Link, type LinkOwner } from './link.js';
import { Tally, type ToxicAction } from './tally.js';
import type { ToxicConfig } from './toxics/index.js';

/**
 * Resets a socket (RST), or just closes it once its side has already sent FIN: resetting a socket
 * with a shutdown in progress leaves libuv polling a dead handle at full CPU (seen on Node 20).
 */
function rst(s: Socket): void {
  if (s.destroyed) return;
  if (s.writableEnded) s.destroy();
  else s.resetAndDestroy();
}

export class Connection implements LinkOwner {
  /** Toxics' state for this connection, by key (ToxicStub.state). */
  private readonly toxicState = new Map<string, unknown>();
  /** What toxics did to this connection (`action type`), so that each counts once. */
  private readonly acts = new Set<string>();

  private readonly controller = new AbortController();
  /** Aborts when the connection is gone. */
  readonly closed = this.controller.signal;
  readonly upstreamLink: Link;
  readonly downstreamLink: Link;
  readonly since = new Date();

  constructor(
    readonly id: number,
    readonly client: Socket,
    readonly upstream: Socket,
    toxics: readonly ToxicConfig[],
    /** The proxy's counts, which this connection's toxics add to. */
    readonly tally: Tally = new Tally(),
  ) {
    this.upstreamLink = new Link('upstream', this, client, upstream);
    this.downstreamLink = new Link('downstream', this, upstream, client);
    this.sync(toxics);
    let open = 2;
    for (const [sock, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      // A reset crosses like data: not while a toxic holds that direction shut.
      const link = sock === client ? this.upstreamLink : this.downstreamLink;
      sock.on('error', () => void link.released().then(() => rst(other)));
      sock.on('close', () => {
        open -= 1;
        if (open === 0) this.controller.abort();
      });
    }
    this.upstreamLink.start();
    this.downstreamLink.start();
  }

  state<T>(key: string, make: () => T): T {
    if (!this.toxicState.has(key)) this.toxicState.set(key, make());
    return this.toxicState.get(key) as T;
  }

  /** A toxic of `type` reset or closed this connection: counted once per action and type. */
  toxicActed(action: ToxicAction, type: string): void {
    const key = `${action} ${type}`;
    if (this.acts.has(key)) return;
    this.acts.add(key);
    this.tally.acted(action, type);
  }

  sync(toxics: readonly ToxicConfig[]): void {
    this.upstreamLink.sync(toxics);
    this.downstreamLink.sync(toxics);
  }

  /** Closes both sides with FIN now, whatever is still queued. */
  close(): void {
    for (const s of [this.client, this.upstream]) s.end();
    // A peer that never answers our FIN is not waited for.
    setTimeout(() => {
      for (const s of [this.client, this.upstream]) s.destroy();
    }, 2000).unref();
  }

  /** One side gets a TCP RST; the other stays open. */
  resetOne(side: Socket): void {
    rst(side);
  }

  /** Both sides get a TCP RST. */
  reset(): void {
    for (const s of [this.client, this.upstream]) rst(s);
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      client: `${this.client.remoteAddress}:${this.client.remotePort}`,
      upstream: `${this.upstream.localAddress}:${this.upstream.localPort}`,
      since: this.since.toISOString(),
      bytes_upstream: this.upstreamLink.bytes,
      bytes_downstream: this.downstreamLink.bytes,
    };
  }
}
