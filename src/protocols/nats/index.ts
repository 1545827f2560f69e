/** NATS: Debian's nats-server, with a config the lab writes; nats.js client and sink. */
import { entryArgv, packageVersion } from '../launch.js';
import type { ProtocolDef } from '../types.js';

export const nats: ProtocolDef = {
  target: {
    port: 4222,
    describe: 'nats-server (Debian package), with a config the lab writes',
    launch: (c) => ({
      argv: ['nats-server', '-c', `${c.dir}/nats.conf`],
      // The server's own ping to the client stays at its default (2 min): the experiment is about
      // what the client notices. On netns the host is every address of the server namespace (its
      // lab address, and loopback where the sink connects); on the proxy testbed, loopback.
      files: { 'nats.conf': `listen: "${c.host}:${c.port}"\nping_interval: "2m"\n` },
    }),
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
