/**
 * Clients, one per protocol, registered here. A client is a process the lab starts in the client
 * namespace; it prints `connected`, `sent`, `detected`, ... as JSON lines.
 */
import type { Strategy, TargetName, Workload } from '../scenario/spec.js';
import type { TcpClientConfig } from './tcp/client.js';

export interface ClientArgs {
  host: string;
  port: number;
  clientId: string;
  strategy: Strategy;
  workload: Workload;
}

export interface ClientDef {
  argv(args: ClientArgs): string[];
  /** The library that speaks the protocol, reported with every result. */
  library: string;
}

const entry = (rel: string): string => new URL(rel, import.meta.url).pathname;

export const CLIENTS: Record<TargetName, ClientDef> = {
  tcp: {
    argv: (a) => {
      const config: TcpClientConfig = {
        ...a,
        backoff: { initialMs: 100, maxMs: 1000 },
        connectTimeoutMs: 1000,
      };
      return [entry('./tcp/client.js'), JSON.stringify(config)];
    },
    library: `node:net (Node.js ${process.versions.node}) + net-keepalive`,
  },
};
