/** gRPC: the lab's grpc-js server (one bidi method, raw bytes; its own sink) and client. */
import { appTarget, entryArgv, packageVersion } from '../launch.js';
import type { ProtocolDef } from '../types.js';

export const grpc: ProtocolDef = {
  target: appTarget(
    import.meta.url,
    50051,
    'built-in gRPC server (@grpc/grpc-js, one bidi stream) and sink',
    `@grpc/grpc-js ${packageVersion('@grpc/grpc-js')}`,
    'grpc',
  ),
  client: {
    // The channel reconnects with grpc-js's own backoff; the lab's loop only waits for it.
    argv: (a) =>
      entryArgv(import.meta.url, './entry.js', {
        ...a,
        backoff: { initialMs: 10, maxMs: 10 },
        connectTimeoutMs: 30_000,
      }),
    library: `@grpc/grpc-js ${packageVersion('@grpc/grpc-js')}`,
  },
  sink: null,
  pushes: 'target',
  // grpc-js sends no keepalive ping unless keepalive_time_ms is set.
  strategies: ['none', 'grpc'],
  defaultStrategy: 'none',
  qos: false,
  nagle: false,
  url: (h, p) => `${h}:${p}`,
  serverPings: null,
};
