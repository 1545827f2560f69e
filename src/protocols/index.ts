/**
 * The protocols, one folder each, registered here. A target name is a key of this map; everything
 * else asks the definition.
 */
import { grpc } from './grpc/index.js';
import { h2 } from './h2/index.js';
import { mqtt } from './mqtt/index.js';
import { nats } from './nats/index.js';
import { tcp } from './tcp/index.js';
import type { ProtocolDef } from './types.js';
import { ws } from './ws/index.js';

export const PROTOCOLS = { tcp, nats, mqtt, ws, grpc, h2 } as const satisfies Record<
  string,
  ProtocolDef
>;

export type TargetName = keyof typeof PROTOCOLS;
export const TARGETS = Object.keys(PROTOCOLS) as TargetName[];

/** The target when none is named: the lab's own raw TCP server. */
export const DEFAULT_TARGET: TargetName = 'tcp';

export type {
  ClientArgs,
  LaunchConfig,
  ProtocolDef,
  SinkArgs,
  TargetDef,
  BrokerBinary,
} from './types.js';
