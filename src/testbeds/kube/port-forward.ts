/**
 * A relay that behaves as `kubectl port-forward pod/<name> <port>:<port>` does, run in the client's
 * pod by the port-forward fault: it listens on loopback, pins ONE pod's address (no failover), and
 * for each local connection opens one stream (here a TCP connection) to that pod.
 *   - The pod closes its side (EOF): the local connection is closed with FIN, the forward stays.
 *   - An error on a stream (ECONNRESET, ECONNREFUSED, ETIMEDOUT): "lost connection to pod", the
 *     whole forward ends. kubectl exits: its kernel closes the listener and every local connection,
 *     so later connects are refused.
 *   - SIGTERM (the user stops kubectl), or the runner gone: it exits at once, as kubectl does.
 * Events (one JSON line each): `listening`, `accepted` and `conn_closed` per local connection,
 * `stopping` with why.
 */
import { createServer, connect, type Socket } from 'node:net';
import { emit, type Endpoint } from '../../events.js';
import { childConfig, onParentGone } from '../../util/child-main.js';

export interface PortForwardConfig {
  /** Where it listens: loopback in the client's pod. */
  listen: { host: string; port: number };
  /** The pinned pod's address and port. */
  pod: { ip: string; port: number };
}

const cfg = childConfig<PortForwardConfig>();

const endpointOf = (s: Socket): Endpoint => ({
  address: s.remoteAddress ?? '?',
  port: s.remotePort ?? 0,
});

/** Ends the forward as kubectl does on an error: say why, exit; the kernel closes the rest. */
function lost(why: string): never {
  emit({ type: 'stopping', signal: `lost connection to pod: ${why}` });
  process.exit(1);
}

const server = createServer((local) => {
  const remote = endpointOf(local);
  emit({ type: 'accepted', remote });
  const upstream = connect({ host: cfg.pod.ip, port: cfg.pod.port });
  let closedWhy = 'local side closed';
  // The pod's EOF ends the local side (FIN); the client's EOF ends the stream to the pod.
  upstream.on('end', () => {
    closedWhy = 'the pod closed its side (EOF)';
    // What the client still sends goes nowhere: the stream is closed (no write after its end).
    local.unpipe(upstream);
  });
  upstream.pipe(local);
  local.pipe(upstream);
  upstream.on('error', (err: NodeJS.ErrnoException) => lost(err.code ?? err.message));
  // The client reset its side: the stream to the pod is closed, the forward stays.
  local.on('error', () => upstream.destroy());
  local.on('close', () => {
    emit({ type: 'conn_closed', remote, reason: closedWhy });
    upstream.destroy();
  });
});

server.on('error', (err) => {
  emit({ type: 'fatal', error: err.message });
  process.exit(1);
});
server.listen(cfg.listen.port, cfg.listen.host, () => {
  const at = server.address();
  const port = typeof at === 'object' && at ? at.port : cfg.listen.port;
  emit({ type: 'listening', address: cfg.listen.host, port });
});

onParentGone((why) => {
  emit({ type: 'stopping', signal: why });
  process.exit(0);
});
