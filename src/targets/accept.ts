/**
 * The raw side of the lab's own servers: a net.Server that reports every client connection
 * (`accepted`, and `conn_closed` with why) before handing the socket to the protocol on top (a
 * line reader, ws, node:http2, grpc-js). Graceful stops close the protocol first, then wait for
 * the sockets to go.
 */
import net from 'node:net';
import { emit, type Endpoint } from '../events.js';

export interface AcceptingServer {
  server: net.Server;
  sockets: Set<net.Socket>;
  /** Calls `done` once every client socket has closed (at once if there are none). */
  whenAllClosed: (done: () => void) => void;
}

export function acceptingServer(handle: (sock: net.Socket) => void): AcceptingServer {
  const sockets = new Set<net.Socket>();
  const waiting: (() => void)[] = [];
  const server = net.createServer((sock) => {
    sockets.add(sock);
    const remote: Endpoint = { address: sock.remoteAddress ?? '?', port: sock.remotePort ?? 0 };
    emit({ type: 'accepted', remote });
    let reason = 'eof';
    sock.on('error', (err: NodeJS.ErrnoException) => (reason = err.code ?? err.message));
    sock.on('close', () => {
      sockets.delete(sock);
      emit({ type: 'conn_closed', remote, reason });
      if (sockets.size === 0) for (const fn of waiting.splice(0)) fn();
    });
    handle(sock);
  });
  return {
    server,
    sockets,
    whenAllClosed: (done) => (sockets.size === 0 ? done() : void waiting.push(done)),
  };
}
