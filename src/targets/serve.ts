/**
 * The life of a target the lab writes itself (the TCP server, embedded aedes): listen, say so,
 * fail in one event, and on SIGTERM (or the runner gone) stop gracefully: stop accepting, close
 * every client with FIN, exit once closed or after a 2 s grace period.
 */
import type net from 'node:net';
import { emit } from '../events.js';
import { onParentGone } from '../util/child-main.js';

export function serveUntilStopped(
  server: net.Server,
  at: { host: string; port: number },
  /** Closes every client connection; calls `done` once they are all gone. */
  closeClients: (done: () => void) => void,
): void {
  server.on('error', (err) => {
    emit({ type: 'fatal', error: err.message });
    process.exit(1);
  });
  server.listen(at.port, at.host, () =>
    emit({ type: 'listening', address: at.host, port: at.port }),
  );
  let stopping = false;
  onParentGone((why) => {
    if (stopping) return;
    stopping = true;
    emit({ type: 'stopping', signal: why });
    server.close();
    const done = (): void => process.exit(0);
    closeClients(done);
    // A peer that never answers our FIN is not waited for.
    setTimeout(done, 2000).unref();
  });
}
