/**
 * What a strategy kind is: how it is written, what it puts on the wire, the window its formula
 * gives on a silent path, and how `tune` searches its settings. One file per kind implements
 * this; every hook is required, so a new kind that forgets one does not compile.
 */
import type { PathContext, Prediction } from '../core/window.js';
import type { Workload } from '../core/workload.js';
import type { Made, TuneAsk } from './tune-kit.js';

/** TCP socket options a kernel-level strategy stands for (any program can set them). */
export interface SocketOptions {
  keepalive?: { idleMs: number; intervalMs: number; count: number };
  userTimeoutMs?: number;
}

/** One `key=value` of a strategy's spec, as the reference lists it. */
export interface StrategyKey {
  readonly key: string;
  /** The spec must give it. */
  readonly required?: true;
  /** What the parser takes when an optional key is left out. */
  readonly default?: string;
  /** What it sets, in a few words. */
  readonly help: string;
}

export interface StrategyDef<S extends { kind: string }> {
  readonly kind: S['kind'];
  /** How it is written, with example values: `keepalive:idle=2s,interval=1s,count=3`. */
  readonly usage: string;
  /** What it does, for --help: one or two short lines. */
  readonly help: string;
  /**
   * Its `key=value`s, required ones first, as `parse` takes them (the reference's table;
   * test/strategy-keys.test.ts checks them against `parse`). Empty when it takes none.
   */
  readonly keys: readonly StrategyKey[];
  /**
   * Set for TCP-level strategies any program can have, whatever it speaks on top. They rely on
   * the peer's kernel alone, so a proxy's kernel answers for a dead peer.
   */
  readonly kernel: { sockopts(s: S): SocketOptions } | null;
  /**
   * Why only your own program (--client-cmd) can have this setting, or null: it names another
   * library's rule (`nats:...,lib=go`) than the lab's built-in client's.
   */
  ownClientOnly(s: S): string | null;
  /** `body` is the text after `kind:` ('' when none); `what` names it in errors. */
  parse(body: string, what: string): S;
  format(s: S): string;
  /** How often, at most, the client puts an application-level probe on the wire (null: never). */
  probeEveryMs(s: S, w: Workload): number | null;
  /** Kernel keepalive probes on an idle socket (null: none). */
  keepaliveProbe(s: S): { idleMs: number; intervalMs: number } | null;
  /** How often the server pings the client because of this setting (null: it does not). */
  serverPingMs(s: S): number | null;
  /** The window in which the client notices when no packet reaches it after T0. */
  silentPath(s: S, c: PathContext): Prediction;
  /**
   * The least chatty setting of this kind that notices a silent peer within `ask.withinMs` and
   * lets a healthy answer be `ask.tolerateMs` late, or why none does; null: `tune` skips the kind.
   */
  tune: ((ask: TuneAsk) => Made<S> | string) | null;
  /** What a user of a tuned setting must also know. */
  readonly tuneNotes: readonly string[];
}
