/** HTTP/2 cleartext: the lab's node:http2 server (one long POST stream; its own sink) and client. */
import { appTarget, entryArgv, nodeModule, QUICK } from '../launch.js';
import type { ProtocolDef } from '../types.js';

export const h2: ProtocolDef = {
  target: appTarget(
    import.meta.url,
    8443,
    'built-in HTTP/2 cleartext server (node:http2) and sink',
    nodeModule('http2'),
    'h2',
  ),
  client: {
    argv: (a) => entryArgv(import.meta.url, './client.js', { ...a, ...QUICK }),
    library: nodeModule('http2'),
  },
  sink: null,
  pushes: 'target',
  // node:http2 sends no PING unless asked.
  strategies: ['none', 'h2'],
  defaultStrategy: 'none',
  qos: false,
  nagle: false,
  url: (h, p) => `http://${h}:${p}/`,
  serverPings: null,
};
