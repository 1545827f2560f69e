/**
 * A proxy: a listen address, an upstream, a list of toxics (configuration) and its live
 * connections (state). Disabling it closes every connection with FIN and refuses new ones.
 */
import net from 'node:net';
import { Connection } from './connection.js';
import { Tally } from './tally.js';
import { TOXICS, type Stream, type ToxicConfig } from './toxics/index.js';

export class ProxyError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A proxy could not listen where it was asked to (address in use, not this machine's, ...). */
export class ListenError extends ProxyError {
  constructor(
    readonly listen: string,
    /** The system's error, e.g. EADDRINUSE, EACCES, EADDRNOTAVAIL, ENOTFOUND. */
    override readonly cause: NodeJS.ErrnoException,
  ) {
    super(`listen ${listen}: ${cause.message}`, 409);
  }
}

/** `host:port` -> parts; the port may be 0 (any free port). */
export function splitHostPort(text: string, what: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port > 65535) throw new ProxyError(`${what} '${text}' is not host:port`, 400);
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

export interface ToxicInput {
  name?: string;
  type?: string;
  stream?: string;
  toxicity?: number;
  attributes?: Record<string, unknown>;
  connections?: unknown;
}

export class Proxy {
  listen: string;
  enabled = false;
  readonly toxics: ToxicConfig[] = [];
  readonly connections = new Map<number, Connection>();
  /** What the metrics count (see tally.ts). */
  readonly tally = new Tally();
  private server: net.Server | undefined;
  private nextId = 1;
  private readonly heals = new Map<string, NodeJS.Timeout>();

  constructor(
    readonly name: string,
    listen: string,
    public upstream: string,
  ) {
    splitHostPort(listen, 'listen');
    splitHostPort(upstream, 'upstream');
    this.listen = listen;
  }

  async enable(): Promise<void> {
    if (this.enabled) return;
    const { host, port } = splitHostPort(this.listen, 'listen');
    // Half-open allowed: a FIN in one direction is passed on, the other direction keeps flowing.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) =>
      this.accept(client),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ListenError(this.listen, err)),
      );
      // A deep accept queue: a burst of thousands of connects must not overflow it.
      server.listen({ port, host, backlog: 4096 }, () => resolve());
    });
    const addr = server.address() as net.AddressInfo;
    this.listen = `${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
    this.server = server;
    this.enabled = true;
  }

  /** Closes every connection (FIN) and stops listening: new connections are refused. */
  async disable(): Promise<void> {
    if (!this.enabled) return;
    this.enabled = false;
    const server = this.server!;
    this.server = undefined;
    for (const c of this.connections.values()) c.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const { host, port } = splitHostPort(this.upstream, 'upstream');
    const upstream = net.connect({ host, port, noDelay: true, allowHalfOpen: true });
    const conn = new Connection(this.nextId++, client, upstream, this.toxics, this.tally);
    this.connections.set(conn.id, conn);
    this.tally.accepted += 1;
    conn.closed.addEventListener(
      'abort',
      () => {
        // In the same turn as leaving the map: a scrape sees its bytes exactly once.
        this.connections.delete(conn.id);
        this.tally.closedBytes.upstream += conn.upstreamLink.bytes;
        this.tally.closedBytes.downstream += conn.downstreamLink.bytes;
      },
      { once: true },
    );
  }

  private sync(): void {
    for (const c of this.connections.values()) c.sync(this.toxics);
  }

  addToxic(input: ToxicInput): ToxicConfig {
    const config = validateToxic(input);
    if (this.toxics.some((t) => t.name === config.name))
      throw new ProxyError(`toxic already exists: ${config.name}`, 409);
    this.toxics.push(config);
    this.scheduleHeal(config);
    this.sync();
    return config;
  }

  updateToxic(name: string, input: ToxicInput): ToxicConfig {
    const i = this.toxics.findIndex((t) => t.name === name);
    if (i < 0) throw new ProxyError(`toxic not found: ${name}`, 404);
    const old = this.toxics[i]!;
    const config = validateToxic({
      ...old,
      ...input,
      attributes: { ...old.attributes, ...(input.attributes ?? {}) },
      name,
      type: old.type,
    });
    this.toxics[i] = config;
    this.scheduleHeal(config);
    this.sync();
    return config;
  }

  removeToxic(name: string): void {
    const i = this.toxics.findIndex((t) => t.name === name);
    if (i < 0) throw new ProxyError(`toxic not found: ${name}`, 404);
    this.toxics.splice(i, 1);
    clearTimeout(this.heals.get(name));
    this.heals.delete(name);
    this.sync();
  }

  removeAllToxics(): void {
    for (const t of [...this.toxics]) this.removeToxic(t.name);
  }

  /** blackhole with `heal`: the toxic removes itself that long after it was set. */
  private scheduleHeal(config: ToxicConfig): void {
    clearTimeout(this.heals.get(config.name));
    const heal = config.type === 'blackhole' ? (config.attributes.heal ?? 0) : 0;
    if (heal > 0)
      this.heals.set(
        config.name,
        setTimeout(() => {
          if (this.toxics.some((t) => t === config)) this.removeToxic(config.name);
        }, heal).unref(),
      );
  }

  /** Bytes forwarded in `stream` by every connection so far, live or gone. */
  bytes(stream: Stream): number {
    let n = this.tally.closedBytes[stream];
    for (const c of this.connections.values())
      n += (stream === 'upstream' ? c.upstreamLink : c.downstreamLink).bytes;
    return n;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: this.toxics,
    };
  }
}

/** Toxiproxy's rules: a known type, a stream, toxicity in [0, 1], numeric attributes. */
export function validateToxic(input: ToxicInput): ToxicConfig {
  const type = String(input.type ?? '');
  const toxic = TOXICS[type];
  if (!toxic)
    throw new ProxyError(
      `unknown toxic type '${type}' (expected one of: ${Object.keys(TOXICS).join(', ')})`,
      400,
    );
  const stream = (input.stream ?? 'downstream') as Stream;
  if (stream !== 'upstream' && stream !== 'downstream')
    throw new ProxyError(`stream '${String(input.stream)}' must be upstream or downstream`, 400);
  const toxicity = input.toxicity ?? 1;
  if (typeof toxicity !== 'number' || !(toxicity >= 0 && toxicity <= 1))
    throw new ProxyError(`toxicity '${String(input.toxicity)}' must be from 0 to 1`, 400);
  const attributes: Record<string, number> = { ...toxic.defaults };
  for (const [k, v] of Object.entries(input.attributes ?? {})) {
    if (!(k in toxic.defaults))
      throw new ProxyError(
        `toxic ${type} has no attribute '${k}' (it has: ${Object.keys(toxic.defaults).join(', ') || 'none'})`,
        400,
      );
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new ProxyError(`attribute ${k} '${String(v)}' must be a number >= 0`, 400);
    attributes[k] = v;
  }
  let connections: number[] | undefined;
  if (input.connections !== undefined && input.connections !== null) {
    if (!Array.isArray(input.connections) || !input.connections.every((c) => Number.isInteger(c)))
      throw new ProxyError('connections must be a list of connection ids', 400);
    connections = input.connections as number[];
  }
  return {
    name: input.name || `${type}_${stream}`,
    type,
    stream,
    toxicity,
    attributes,
    ...(connections ? { connections } : {}),
  };
}

/** Every proxy, by name: what the control API and the proxy testbed work with. */
export class ProxyServer {
  readonly proxies = new Map<string, Proxy>();

  get(name: string): Proxy {
    const p = this.proxies.get(name);
    if (!p) throw new ProxyError(`proxy not found: ${name}`, 404);
    return p;
  }

  async create(input: {
    name?: unknown;
    listen?: unknown;
    upstream?: unknown;
    enabled?: unknown;
  }): Promise<Proxy> {
    const name = typeof input.name === 'string' ? input.name : '';
    if (!name) throw new ProxyError('missing required field: name', 400);
    if (typeof input.upstream !== 'string')
      throw new ProxyError('missing required field: upstream', 400);
    if (this.proxies.has(name)) throw new ProxyError(`proxy already exists: ${name}`, 409);
    const proxy = new Proxy(
      name,
      typeof input.listen === 'string' && input.listen ? input.listen : '127.0.0.1:0',
      input.upstream,
    );
    // Reserved before the await, so a concurrent create of the same name gets its 409.
    this.proxies.set(name, proxy);
    try {
      if (input.enabled !== false) await proxy.enable();
    } catch (err) {
      this.proxies.delete(name);
      throw err;
    }
    return proxy;
  }

  async update(
    name: string,
    input: { enabled?: unknown; listen?: unknown; upstream?: unknown },
  ): Promise<Proxy> {
    const p = this.get(name);
    if (typeof input.upstream === 'string') {
      splitHostPort(input.upstream, 'upstream');
      p.upstream = input.upstream;
    }
    // Port 0 asks for any port: the one already bound is as good.
    const wanted = typeof input.listen === 'string' ? splitHostPort(input.listen, 'listen') : null;
    const bound = splitHostPort(p.listen, 'listen');
    if (
      typeof input.listen === 'string' &&
      wanted &&
      (wanted.host !== bound.host || (wanted.port !== 0 && wanted.port !== bound.port))
    ) {
      const was = p.enabled;
      await p.disable();
      p.listen = input.listen;
      if (was) await p.enable();
    }
    if (input.enabled === false) await p.disable();
    if (input.enabled === true) await p.enable();
    return p;
  }

  async remove(name: string): Promise<void> {
    const p = this.get(name);
    p.removeAllToxics();
    await p.disable();
    this.proxies.delete(name);
  }

  /** Toxiproxy's reset: every proxy enabled, every toxic removed. */
  async reset(): Promise<void> {
    for (const p of this.proxies.values()) {
      p.removeAllToxics();
      await p.enable();
    }
  }

  async closeAll(): Promise<void> {
    for (const name of [...this.proxies.keys()]) await this.remove(name);
  }
}
