/** MQTT: Debian's mosquitto (or aedes, embedded, on the proxy testbed); MQTT.js client and sink. */
import { entryArgv, nodeArgv, packageVersion } from '../launch.js';
import type { ProtocolDef } from '../types.js';

export const mqtt: ProtocolDef = {
  target: {
    port: 1883,
    describe: 'mosquitto (Debian package), with a config the lab writes',
    // mosquitto does not cluster: one broker behind the Service.
    maxReplicas: 1,
    defaultReplicas: 1,
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
      maxReplicas: 1,
      defaultReplicas: 1,
      launch: (c) => ({
        argv: nodeArgv(import.meta.url, './aedes.js', { host: c.host, port: c.port }),
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
  client: {
    argv: (a) => entryArgv(import.meta.url, './client.js', a),
    library: `mqtt (MQTT.js) ${packageVersion('mqtt')}`,
  },
  sink: { argv: (a) => entryArgv(import.meta.url, './sink.js', a) },
  pushes: 'sink',
  strategies: ['mqtt'],
  defaultStrategy: 'mqtt:keepalive=60s',
  qos: true,
  // MQTT.js never sets TCP_NODELAY (the lab's TCP client, nats.js, ws, grpc-js and node:http2 do).
  nagle: true,
  url: (h, p) => `mqtt://${h}:${p}`,
  // mosquitto does not ping clients; it closes one silent for 1.5 x its keepalive.
  serverPings: null,
};
