/**
 * Targets, one per protocol, registered here. A target is a process the lab starts in the
 * server namespace; it prints `listening` when ready and reports the sink's `recv` events.
 */
import type { TargetName } from '../scenario/spec.js';
import type { TcpTargetConfig } from './tcp/server.js';

export interface TargetDef {
  /** The port it listens on inside its own namespace. */
  port: number;
  /** argv after the node binary. */
  argv(config: { host: string; port: number }): string[];
  describe: string;
}

const entry = (rel: string): string => new URL(rel, import.meta.url).pathname;

export const TARGETS: Record<TargetName, TargetDef> = {
  tcp: {
    port: 7000,
    argv: (c) => [entry('./tcp/server.js'), JSON.stringify(c satisfies TcpTargetConfig)],
    describe: 'built-in line-protocol TCP server and sink',
  },
};
