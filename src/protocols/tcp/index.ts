/** Raw TCP: the lab's line-protocol server (its own sink) and a node:net client. */
import { entryArgv, nodeArgv, nodeModule, packageVersion, QUICK } from '../launch.js';
import type { ProtocolDef } from '../types.js';
import type { TcpClientConfig } from './client.js';
import type { TcpTargetConfig } from './server.js';

export const tcp: ProtocolDef = {
  target: {
    port: 7000,
    describe: 'built-in line-protocol TCP server and sink',
    version: `halfopen tcp server on ${nodeModule('net')}`,
    maxReplicas: 5,
    defaultReplicas: 3,
    launch: (c) => ({
      argv: nodeArgv(import.meta.url, './server.js', {
        host: c.host,
        port: c.port,
      } satisfies TcpTargetConfig),
      files: {},
    }),
  },
  client: {
    argv: (a) =>
      entryArgv(import.meta.url, './client.js', { ...a, ...QUICK } satisfies TcpClientConfig),
    library: `${nodeModule('net')} + net-keepalive ${packageVersion('net-keepalive')}`,
  },
  sink: null,
  pushes: null,
  strategies: ['none', 'heartbeat', 'keepalive', 'user-timeout'],
  defaultStrategy: 'none',
  qos: false,
  nagle: false,
  url: (h, p) => `tcp://${h}:${p}`,
  serverPings: null,
};
