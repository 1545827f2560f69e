/**
 * The contract every toxic keeps (one file per toxic, named after its type):
 * - `pipe` forwards a chunk: it returns the pieces to write on (none to hold it back), waiting as
 *   long as it needs; every wait ends when `ctx.stop` aborts (the connection closed, or the
 *   toxic was removed, after which the chunk must pass untouched);
 * - `start`, when present, runs once per connection when the toxic takes effect on it (timers
 *   that act on the connection itself: reset_peer, timeout);
 * - `beforeEnd`, when present, runs when the source ends, before the end is passed on.
 */

export type Stream = 'upstream' | 'downstream';

/** A toxic as configured: the Toxiproxy JSON shape, plus our optional connection filter. */
export interface ToxicConfig {
  name: string;
  type: string;
  stream: Stream;
  /** Probability, rolled once per connection, that the toxic applies to it. */
  toxicity: number;
  attributes: Record<string, number>;
  /** Only these connection ids (halfopen extension); all connections when absent. */
  connections?: number[];
}

/**
 * What a toxic may do to the link it sits on and its connection: the small surface it sees, in
 * place of the link itself. State it keeps per connection lives here too, not in a global map.
 */
export interface ToxicStub {
  /** Writes on toward the destination, waiting while its buffer is full. */
  write(buf: Buffer): Promise<void>;
  /** Bytes this toxic has let through on this link, and adding to them (limit_data). */
  passed(): number;
  count(n: number): void;
  /** Closes the connection with FIN both ways. */
  close(): void;
  /** Resets both sides of the connection (RST). */
  reset(): void;
  /** Resets the socket this direction reads from: an RST to the sender of what arrived. */
  resetSource(): void;
  /**
   * The connection's state for `key`, made by `make` on first use and shared by every link of
   * the connection (idle_timeout's one clock for both streams). Gone with the connection.
   */
  state<T>(key: string, make: () => T): T;
}

export interface ToxicContext {
  stub: ToxicStub;
  config: ToxicConfig;
  /** Aborts when the toxic is removed from this connection or the connection closes. */
  stop: AbortSignal;
  /** When the chunk was read from its source (performance.now()). */
  arrivedAt: number;
}

export interface Toxic {
  /** Attribute names and defaults, as Toxiproxy defines them for this type. */
  readonly defaults: Record<string, number>;
  /**
   * Holds the path shut while on: nothing, not even a close or a reset, crosses it. A function
   * decides per link, for a toxic that shuts the path only from some moment (idle_timeout).
   */
  readonly holds?: boolean | ((stub: ToxicStub) => boolean);
  pipe?: (chunk: Buffer, ctx: ToxicContext) => Promise<Buffer[]> | Buffer[];
  start?: (ctx: Omit<ToxicContext, 'arrivedAt'>) => void;
  beforeEnd?: (ctx: Omit<ToxicContext, 'arrivedAt'>) => Promise<void>;
}

/** Sleeps `ms`, ending early when `signal` aborts. */
export function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when `signal` aborts. */
export const until = (signal: AbortSignal): Promise<void> => wait(2 ** 31 - 1, signal);
