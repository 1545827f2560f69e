/**
 * Targets, one per protocol, registered here. A target is the process the lab starts in the server
 * namespace, and the one the faults act on: the lab's own TCP server (which reports JSON-line
 * events and is its own sink), or a real broker binary (which reports through its log; readiness
 * is the log line that says it accepts connections).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Strategy, TargetName, Workload } from '../scenario/spec.js';
import type { AppTargetConfig } from './app/config.js';
import type { TcpTargetConfig } from './tcp/server.js';

export interface LaunchConfig {
  /** The address to bind: the testbed's target host. */
  host: string;
  port: number;
  /** A private directory for config files, removed at teardown. */
  dir: string;
  /** The experiment's strategy, for servers that take part in it (ws side=server). */
  strategy: Strategy;
  /** The experiment's workload: the lab's own servers push for `subscribe`. */
  workload: Workload;
  /** The first sequence number a pushing server sends (after a restart, where the last stopped). */
  firstSeq: number;
}

export interface Launch {
  argv: string[];
  /** Files to write into `dir` before starting, by name. */
  files: Record<string, string>;
}

export interface BrokerBinary {
  /** The executable, looked up on PATH (with /usr/sbin). */
  binary: string;
  /** The Debian package that provides it. */
  package: string;
  /** The log line that says it accepts connections. */
  ready: RegExp;
  /** argv that prints its version. */
  versionArgv: string[];
}

export interface TargetDef {
  /** The port it listens on inside its own namespace. */
  port: number;
  describe: string;
  launch(config: LaunchConfig): Launch;
  /** Set for brokers: a real binary, not one of the lab's own scripts. */
  broker?: BrokerBinary;
  /** Where the broker binary is missing, the proxy testbed runs this embedded one instead. */
  embedded?: TargetDef;
  /** For targets that are packages, not binaries: what runs, with its version. */
  version?: string;
}

const entry = (rel: string): string => new URL(rel, import.meta.url).pathname;

/** An installed package's version, for packages whose exports hide package.json. */
function packageVersion(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === name) return pkg.version ?? '?';
    } catch {
      // not here: one level up
    }
  }
  return '?';
}

/** A Node.js built-in module, with the Node.js version. */
const NODE = (module: string): string => `node:${module} (Node.js ${process.versions.node})`;

/** The lab's own WebSocket, gRPC and HTTP/2 servers: each is its own sink. */
const appTarget = (file: string, port: number, describe: string, library: string): TargetDef => ({
  port,
  describe,
  version: `halfopen ${file} server on ${library}`,
  launch: (c) => ({
    argv: [
      process.execPath,
      entry(`./app/${file}.js`),
      JSON.stringify({
        host: c.host,
        port: c.port,
        strategy: c.strategy,
        workload: c.workload,
        firstSeq: c.firstSeq,
      } satisfies AppTargetConfig),
    ],
    files: {},
  }),
});

export const TARGETS: Record<TargetName, TargetDef> = {
  tcp: {
    port: 7000,
    describe: 'built-in line-protocol TCP server and sink',
    version: `halfopen tcp server on ${NODE('net')}`,
    launch: (c) => ({
      argv: [
        process.execPath,
        entry('./tcp/server.js'),
        JSON.stringify({ host: c.host, port: c.port } satisfies TcpTargetConfig),
      ],
      files: {},
    }),
  },
  nats: {
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
  mqtt: {
    port: 1883,
    describe: 'mosquitto (Debian package), with a config the lab writes',
    launch: (c) => ({
      argv: ['mosquitto', '-c', `${c.dir}/mosquitto.conf`],
      files: {
        'mosquitto.conf': [
          `listener ${c.port} ${c.host}`,
          'allow_anonymous true',
          'persistence false',
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          'log_type notice',
          'log_type information',
          'connection_messages true',
          '',
        ].join('\n'),
      },
    }),
    embedded: {
      port: 1883,
      describe: 'aedes (embedded MQTT broker, npm), where mosquitto is not installed',
      version: `aedes ${packageVersion('aedes')} (embedded)`,
      launch: (c) => ({
        argv: [
          process.execPath,
          entry('./mqtt-aedes.js'),
          JSON.stringify({ host: c.host, port: c.port }),
        ],
        files: {},
      }),
    },
    broker: {
      binary: 'mosquitto',
      package: 'mosquitto',
      ready: /mosquitto version \S+ running/,
      versionArgv: ['mosquitto', '-h'],
    },
  },
  ws: appTarget(
    'ws',
    8080,
    'built-in WebSocket server (ws) and sink',
    `ws ${packageVersion('ws')}`,
  ),
  grpc: appTarget(
    'grpc',
    50051,
    'built-in gRPC server (@grpc/grpc-js, one bidi stream) and sink',
    `@grpc/grpc-js ${packageVersion('@grpc/grpc-js')}`,
  ),
  h2: appTarget(
    'h2',
    8443,
    'built-in HTTP/2 cleartext server (node:http2) and sink',
    NODE('http2'),
  ),
};
