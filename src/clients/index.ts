/**
 * Clients, one per protocol, registered here. A client is a process the lab starts in the client
 * namespace; it prints `connected`, `sent`, `detected`, ... as JSON lines. Broker protocols also
 * have a sink: the far side of the fault, started in the server namespace next to the broker.
 */
import { createRequire } from 'node:module';
import type { Strategy, TargetName, Workload } from '../scenario/spec.js';
import type { TcpClientConfig } from './tcp/client.js';
import type { ReconnectingOptions } from './reconnecting.js';

export interface ClientArgs {
  host: string;
  port: number;
  clientId: string;
  strategy: Strategy;
  workload: Workload;
  qos: 0 | 1;
}

export interface SinkArgs {
  /** The broker's port on the server namespace's loopback. */
  port: number;
  clientId: string;
  workload: Workload;
  qos: 0 | 1;
}

export interface ClientDef {
  argv(args: ClientArgs): string[];
  /** The broker-side counterpart; targets without one are their own sink. */
  sinkArgv?(args: SinkArgs): string[];
  /** The library that speaks the protocol and its version, reported with every result. */
  library: string;
}

const entry = (rel: string): string => new URL(rel, import.meta.url).pathname;
const versionOf = (pkg: string): string =>
  (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version;
const node = (file: string, config: unknown): string[] => [entry(file), JSON.stringify(config)];

/** The lab's own reconnect loop (TCP, ws, HTTP/2): quick, capped, no jitter. */
const QUICK: Omit<ReconnectingOptions, 'workload'> = {
  backoff: { initialMs: 100, maxMs: 1000 },
  connectTimeoutMs: 1000,
};

export const CLIENTS: Record<TargetName, ClientDef> = {
  tcp: {
    argv: (a) => node('./tcp/client.js', { ...a, ...QUICK } satisfies TcpClientConfig),
    library: `node:net (Node.js ${process.versions.node}) + net-keepalive ${versionOf('net-keepalive')}`,
  },
  nats: {
    argv: (a) => node('./nats/client.js', a),
    sinkArgv: (a) => node('./nats/sink.js', a),
    library: `@nats-io/transport-node ${versionOf('@nats-io/transport-node')}`,
  },
  mqtt: {
    argv: (a) => node('./mqtt/client.js', a),
    sinkArgv: (a) => node('./mqtt/sink.js', a),
    library: `mqtt (MQTT.js) ${versionOf('mqtt')}`,
  },
  ws: {
    argv: (a) => node('./app/ws.js', { ...a, ...QUICK }),
    library: `ws ${versionOf('ws')}`,
  },
  grpc: {
    // The channel reconnects with grpc-js's own backoff; the lab's loop only waits for it.
    argv: (a) =>
      node('./app/grpc-entry.js', {
        ...a,
        backoff: { initialMs: 10, maxMs: 10 },
        connectTimeoutMs: 30_000,
      }),
    library: `@grpc/grpc-js ${versionOf('@grpc/grpc-js')}`,
  },
  h2: {
    argv: (a) => node('./app/h2.js', { ...a, ...QUICK }),
    library: `node:http2 (Node.js ${process.versions.node})`,
  },
};
