/**
 * Emitters: a strategy's settings written as code in one client library's own API, so that a team
 * using nats.go, paho or grpc-java reads `tune`'s answer in its own words. One file per library
 * (or per family) implements `Emitter`; src/emit/index.ts lists them.
 */
import type { Window } from '../core/window.js';
import type { Strategy, StrategyKind } from '../strategies/index.js';

export type Language = 'javascript' | 'typescript' | 'go' | 'java' | 'python';

export interface Emitter {
  /** What `--emit` takes: `nats.go`, `paho-python`, `grpc-java`. */
  readonly library: string;
  readonly language: Language;
  /** The strategy kinds it can write (a nats library writes `nats`; node:net writes keepalive). */
  readonly kinds: readonly StrategyKind[];
  /** Where the options it writes are documented: the library's docs or source, for the README. */
  readonly source: string;
  /**
   * The `lib=` its settings carry when the library's rule is not the lab's built-in client's (a
   * nats.go client is judged by nats.go's ping rule): `tune --emit` searches with that rule, its
   * window is the library's, and only your own program (--client-cmd) can be measured with it.
   */
  readonly lib?: string;
  /**
   * The code: a snippet a user pastes (the options, with a comment saying what they do and which
   * window they give), complete enough to compile inside the template the tests wrap it in.
   * `window` is the predicted window on a silent path (null: never, or not predicted).
   */
  emit(s: Strategy, window: Window | null): string;
}
