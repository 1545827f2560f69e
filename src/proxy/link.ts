/**
 * One direction of one proxied connection: reads from its source, passes each chunk through the
 * toxics enabled on it (in the order they were added), writes to its destination. Reading and
 * writing are decoupled by a bounded queue, so a toxic that delays chunks (latency) delays them
 * from their arrival instead of slowing the stream, and a toxic that holds them (blackhole)
 * stops the reading once 1 MiB waits: backpressure, as a dead path would give.
 */
import type { Socket } from 'node:net';
import type { Tally, ToxicAction } from './tally.js';
import { TOXICS, type Stream, type ToxicConfig } from './toxics/index.js';
import { until, type ToxicStub } from './toxics/types.js';

/** The connection a link belongs to, as far as the link and its toxics act on it. */
export interface LinkOwner {
  readonly id: number;
  /** Aborts when the connection is gone. */
  readonly closed: AbortSignal;
  close(): void;
  reset(): void;
  resetOne(side: Socket): void;
  /** Per-connection state by key (see ToxicStub.state). */
  state<T>(key: string, make: () => T): T;
  /** The proxy's counts (bytes a toxic dropped). */
  readonly tally: Tally;
  /** A toxic of `type` reset or closed the connection (counted once per action and type). */
  toxicActed(action: ToxicAction, type: string): void;
}

const HIGH_WATER = 1 << 20;
const LOW_WATER = 1 << 19;

interface ActiveToxic {
  config: ToxicConfig;
  /** Rolled once against the toxicity (and the connection filter) when the toxic arrived. */
  enabled: boolean;
  controller: AbortController;
  stop: AbortSignal;
}

export class Link {
  private readonly queue: { chunk: Buffer; arrivedAt: number }[] = [];
  private queuedBytes = 0;
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly active = new Map<string, ActiveToxic>();
  private readonly counters = new Map<string, number>();
  /** Bytes written to the destination. */
  bytes = 0;

  constructor(
    readonly stream: Stream,
    readonly connection: LinkOwner,
    private readonly source: Socket,
    private readonly dest: Socket,
  ) {}

  /** Brings the toxics on this link in line with the proxy's list for this stream. */
  sync(configs: readonly ToxicConfig[]): void {
    const wanted = new Map(configs.filter((c) => c.stream === this.stream).map((c) => [c.name, c]));
    // A removed toxic stops; an updated one is removed and added again (toxicity, targets and
    // timers follow the new settings).
    for (const [name, a] of this.active) {
      if (wanted.get(name) !== a.config) {
        a.controller.abort();
        this.active.delete(name);
        this.counters.delete(name);
      }
    }
    for (const [name, config] of wanted) {
      if (this.active.has(name)) continue;
      const targeted = !config.connections || config.connections.includes(this.connection.id);
      const controller = new AbortController();
      const a: ActiveToxic = {
        config,
        enabled: targeted && Math.random() < config.toxicity,
        controller,
        stop: AbortSignal.any([controller.signal, this.connection.closed]),
      };
      this.active.set(name, a);
      if (a.enabled)
        TOXICS[config.type]?.start?.({ stub: this.stub(config), config, stop: a.stop });
    }
  }

  /** Bytes a toxic has let through on this link (limit_data). */
  passed(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  count(name: string, n: number): void {
    this.counters.set(name, this.passed(name) + n);
  }

  /**
   * Resolves once no toxic holds this direction shut (blackhole, timeout): what would cross
   * (a reset) waits for it.
   */
  async released(): Promise<void> {
    for (const a of [...this.active.values()]) {
      const holds = TOXICS[a.config.type]?.holds;
      if (a.enabled && (typeof holds === 'function' ? holds(this.stub(a.config)) : holds))
        await until(a.stop);
    }
  }

  /** What the toxic `config` sees of this link and its connection. */
  private stub({ name, type }: ToxicConfig): ToxicStub {
    const { connection } = this;
    return {
      write: (buf) => this.write(buf),
      passed: () => this.passed(name),
      count: (n) => this.count(name, n),
      close: () => {
        connection.toxicActed('close', type);
        connection.close();
      },
      reset: () => {
        connection.toxicActed('reset', type);
        connection.reset();
      },
      resetSource: () => {
        connection.toxicActed('reset', type);
        this.resetSource();
      },
      state: (key, make) => connection.state(key, make),
    };
  }

  /** Resets the socket this direction reads from (an RST to the sender of what arrived). */
  resetSource(): void {
    this.connection.resetOne(this.source);
  }

  /** Writes to the destination, waiting while its buffer is full. */
  async write(buf: Buffer): Promise<void> {
    if (buf.length === 0 || this.dest.destroyed || this.dest.writableEnded) return;
    this.bytes += buf.length;
    if (this.dest.write(buf)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.dest.off('drain', done);
        this.dest.off('close', done);
        resolve();
      };
      this.dest.on('drain', done);
      this.dest.on('close', done);
    });
  }

  /** Whether the pump is handling a chunk (so a new one must queue behind it). */
  private busy = false;

  private anyEnabled(): boolean {
    for (const a of this.active.values()) if (a.enabled && !a.stop.aborted) return true;
    return false;
  }

  start(): void {
    this.source.on('data', (chunk: Buffer) => {
      // Fast path: no toxic acts on this link and nothing waits, so the chunk goes straight on,
      // with the destination's own backpressure. Order holds: the queue is empty and idle.
      if (!this.busy && this.queue.length === 0 && !this.anyEnabled()) {
        if (this.dest.destroyed || this.dest.writableEnded) return;
        this.bytes += chunk.length;
        if (!this.dest.write(chunk)) {
          this.source.pause();
          this.dest.once('drain', () => this.source.resume());
        }
        return;
      }
      this.queue.push({ chunk, arrivedAt: performance.now() });
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > HIGH_WATER) this.source.pause();
      this.wake?.();
    });
    // FIN, or the source gone without one (RST): either way nothing more will come.
    for (const event of ['end', 'close'] as const)
      this.source.on(event, () => {
        this.ended = true;
        this.wake?.();
      });
    this.connection.closed.addEventListener('abort', () => this.wake?.(), { once: true });
    void this.pump().catch(() => this.connection.close());
  }

  private async next(): Promise<{ chunk: Buffer; arrivedAt: number } | null> {
    while (this.queue.length === 0) {
      if (this.ended || this.connection.closed.aborted) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.queue.shift()!;
  }

  private async pump(): Promise<void> {
    for (let item = await this.next(); item; item = await this.next()) {
      this.busy = true;
      let pieces = [item.chunk];
      for (const a of [...this.active.values()]) {
        const pipe = a.enabled && !a.stop.aborted ? TOXICS[a.config.type]?.pipe : undefined;
        if (!pipe) continue;
        const out: Buffer[] = [];
        let dropped = 0;
        for (const p of pieces) {
          const passed = await pipe(p, {
            stub: this.stub(a.config),
            config: a.config,
            stop: a.stop,
            arrivedAt: item.arrivedAt,
          });
          dropped += p.length;
          for (const q of passed) dropped -= q.length;
          out.push(...passed);
        }
        // Per chunk, and only here, where a toxic acts: the fast path counts nothing more.
        if (dropped > 0) this.connection.tally.drop(this.stream, a.config.type, dropped);
        pieces = out;
      }
      for (const p of pieces) await this.write(p);
      this.busy = false;
      this.queuedBytes -= item.chunk.length;
      if (this.source.isPaused() && this.queuedBytes < LOW_WATER) this.source.resume();
    }
    if (this.connection.closed.aborted) return;
    // The source closed its side: pass the FIN on, after any toxic that delays it.
    for (const a of [...this.active.values()]) {
      const beforeEnd = a.enabled ? TOXICS[a.config.type]?.beforeEnd : undefined;
      if (beforeEnd) await beforeEnd({ stub: this.stub(a.config), config: a.config, stop: a.stop });
    }
    this.dest.end();
  }
}
