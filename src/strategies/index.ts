/**
 * The strategy kinds, one file each, registered here. `Strategy` is the union of what their
 * parsers return; everything else asks the definition through the functions below.
 */
import { BadInputError } from '../errors.js';
import type { PathContext, Prediction } from '../core/window.js';
import type { Workload } from '../core/workload.js';
import { grpc } from './grpc.js';
import { h2 } from './h2.js';
import { heartbeat } from './heartbeat.js';
import { keepalive } from './keepalive.js';
import { mqtt } from './mqtt.js';
import { nats } from './nats.js';
import { none } from './none.js';
import type { SocketOptions, StrategyDef } from './types.js';
import { userTimeout } from './user-timeout.js';
import { ws } from './ws.js';

export const STRATEGIES = {
  none,
  keepalive,
  'user-timeout': userTimeout,
  heartbeat,
  nats,
  mqtt,
  ws,
  grpc,
  h2,
} as const;

type Defs = typeof STRATEGIES;
export type StrategyKind = keyof Defs;
export type Strategy = { [K in StrategyKind]: ReturnType<Defs[K]['parse']> }[StrategyKind];

// Each entry is registered under its own kind.
STRATEGIES satisfies { [K in StrategyKind]: StrategyDef<{ kind: K }> & { kind: K } };

export const STRATEGY_KINDS = Object.keys(STRATEGIES) as StrategyKind[];

/** The definition of a strategy's own kind, typed for that strategy. */
export function strategyDef<S extends Strategy>(s: S): StrategyDef<S> {
  return STRATEGIES[s.kind] as unknown as StrategyDef<S>;
}

export function parseStrategy(text: string): Strategy {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const body = colon < 0 ? '' : text.slice(colon + 1);
  if (!Object.hasOwn(STRATEGIES, kind))
    throw new BadInputError(
      `strategy '${text}' is unknown (expected ${Object.values(STRATEGIES)
        .map((d) => d.usage)
        .join(', ')})`,
    );
  return STRATEGIES[kind as StrategyKind].parse(body, `strategy '${text}'`);
}

export const formatStrategy = (s: Strategy): string => strategyDef(s).format(s);

/** TCP-level strategies any program can have, whatever protocol it speaks on top. */
export const KERNEL_KINDS: readonly StrategyKind[] = STRATEGY_KINDS.filter(
  (k) => STRATEGIES[k].kernel !== null,
);

/** The strategy relies on the peer's kernel alone: a proxy's kernel answers for the peer. */
export const isKernelOnly = (s: Strategy): boolean => strategyDef(s).kernel !== null;

/** The socket options a kernel-level strategy stands for (none for application heartbeats). */
export function socketOptions(s: Strategy): SocketOptions {
  const k = strategyDef(s).kernel;
  return k ? k.sockopts(s) : {};
}

export const probeEveryMs = (s: Strategy, w: Workload): number | null =>
  strategyDef(s).probeEveryMs(s, w);
export const keepaliveProbe = (s: Strategy): { idleMs: number; intervalMs: number } | null =>
  strategyDef(s).keepaliveProbe(s);
export const ownClientOnly = (s: Strategy): string | null => strategyDef(s).ownClientOnly(s);
export const serverPingMs = (s: Strategy): number | null => strategyDef(s).serverPingMs(s);
export const silentPath = (s: Strategy, c: PathContext): Prediction =>
  strategyDef(s).silentPath(s, c);

export type { SocketOptions, StrategyDef } from './types.js';
export { WS_SIDES, type WsSide } from './ws.js';
export { TCP_KEEPALIVE_MAX_S, parseChoice } from './parse.js';
