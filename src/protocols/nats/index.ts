/** NATS: Debian's nats-server, with a config the lab writes; nats.js client and sink. */
import { entryArgv, packageVersion } from '../launch.js';
import type { LaunchConfig, ProtocolDef } from '../types.js';

/** Cluster port of every replica (the chart's 6222). */
const ROUTE_PORT = 6222;

/**
 * One replica of a NATS cluster as the seed's Helm values run it: routes to every peer,
 * JetStream with its store in memory only, and `no_advertise` unless asked (then clients learn
 * every replica's address and fail over by themselves).
 */
function clusterConf(c: NonNullable<LaunchConfig['cluster']>, dir: string): string {
  return [
    `server_name: "${c.name}"`,
    'jetstream {',
    `  store_dir: "${dir}/jetstream"`,
    '  max_memory_store: 512MB',
    '  max_file_store: 0',
    '}',
    'cluster {',
    '  name: "halfopen"',
    `  listen: "0.0.0.0:${ROUTE_PORT}"`,
    `  routes: [${c.peers.map((p) => `"nats-route://${p}:${ROUTE_PORT}"`).join(', ')}]`,
    `  no_advertise: ${c.advertise ? 'false' : 'true'}`,
    '}',
    '',
  ].join('\n');
}

export const nats: ProtocolDef = {
  target: {
    port: 4222,
    describe: 'nats-server (Debian package), with a config the lab writes',
    // The seed's Helm values run three replicas joined by cluster routes, JetStream in memory.
    maxReplicas: 5,
    defaultReplicas: 3,
    launch: (c) => ({
      argv: ['nats-server', '-c', `${c.dir}/nats.conf`],
      // The server's own ping to the client stays at its default (2 min): the experiment is about
      // what the client notices. On netns the host is every address of the server namespace (its
      // lab address, and loopback where the sink connects); on the proxy testbed, loopback.
      files: {
        'nats.conf': `listen: "${c.host}:${c.port}"\nping_interval: "2m"\n${c.cluster ? clusterConf(c.cluster, c.dir) : ''}`,
      },
    }),
    // Debug logging names each client's address ("<ip>:<port> - cid:5 - Client connection created").
    logsClients: ['-D'],
    broker: {
      binary: 'nats-server',
      package: 'nats-server',
      ready: /Server is ready/,
      versionArgv: ['nats-server', '--version'],
    },
  },
  client: {
    argv: (a) => entryArgv(import.meta.url, './client.js', a),
    library: `@nats-io/transport-node ${packageVersion('@nats-io/transport-node')}`,
  },
  sink: { argv: (a) => entryArgv(import.meta.url, './sink.js', a) },
  pushes: 'sink',
  strategies: ['nats'],
  defaultStrategy: 'nats:ping=2m,maxout=2',
  qos: false,
  nagle: false,
  url: (h, p) => `nats://${h}:${p}`,
  // nats-server pings each client every ping_interval (the config above keeps its 2 min), and
  // once `firstClientPingInterval` (2 s) plus up to 20 % jitter after it connected, to measure
  // the round trip (NATS in docs/facts.md).
  serverPings: { firstMs: [2000, 2400], everyMs: 120_000 },
};
