/**
 * How each NATS client library counts its pings, for `nats:...,lib=<lib>`: the window of a silent
 * server and the search `tune` runs follow the library the client is written with. Sources, with
 * versions: NATS in docs/facts.md.
 */
import type { Workload } from '../core/workload.js';

export const NATS_LIBS = ['js', 'go', 'java', 'py'] as const;
export type NatsLib = (typeof NATS_LIBS)[number];

export interface NatsRule {
  /** The library's name, as the window's `why` and the docs say it. */
  name: string;
  /** Its ping timer, in one clause. */
  timer: string;
  /**
   * Ticks a silent path may add past nats.js's maxPingOut + 1 (jnats skips a tick's ping when a
   * message arrived since the previous tick; one such tick may fall after the silence begins).
   */
  extraTicks(w: Workload): number;
}

export const NATS_RULES: Record<NatsLib, NatsRule> = {
  js: {
    name: 'nats.js',
    timer: 'a ping timer every {p} from connect, not reset by traffic',
    extraTicks: () => 0,
  },
  go: {
    name: 'nats.go',
    timer:
      'processPingTimer every {p} from connect, not reset by traffic, counts pout up (a PONG sets it to 0)',
    extraTicks: () => 0,
  },
  java: {
    name: 'jnats',
    timer:
      'a ping task every {p} from connect; a tick after a delivered message sends no ping (needPing)',
    extraTicks: (w) => (w.kind === 'subscribe' ? 1 : 0),
  },
  py: {
    name: 'nats.py',
    timer:
      '_ping_interval sleeps {p} between pings, counts _pings_outstanding up (a PONG sets it to 0)',
    extraTicks: () => 0,
  },
};
