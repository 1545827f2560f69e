/**
 * The built-in TCP target: a line protocol server that is also the sink.
 *   client -> server: `HELLO <client> <attempt>`, `MSG <seq>`, `PING <n>`
 *   server -> client: `PONG <n>`
 * Every MSG sequence number received is reported as a `recv` event. SIGTERM is a graceful
 * shutdown: stop accepting, FIN every connection, exit.
 */
import net from 'node:net';
import { emit, type Endpoint } from '../../events.js';
import { childConfig } from '../../util/child-main.js';
import { serveUntilStopped } from '../serve.js';
import { onLines } from '../../util/lines.js';

export interface TcpTargetConfig {
  host: string;
  port: number;
}

const cfg = childConfig<TcpTargetConfig>();
const sockets = new Set<net.Socket>();

const server = net.createServer((sock) => {
  sockets.add(sock);
  const remote: Endpoint = { address: sock.remoteAddress ?? '?', port: sock.remotePort ?? 0 };
  emit({ type: 'accepted', remote });
  let reason = 'eof';
  onLines(sock, (line) => {
    const [verb, a, b] = line.split(' ');
    if (verb === 'MSG') emit({ type: 'recv', seq: Number(a) });
    else if (verb === 'PING') sock.write(`PONG ${a}\n`);
    else if (verb === 'HELLO') emit({ type: 'hello', client: a ?? '?', attempt: Number(b) });
  });
  sock.on('error', (err: NodeJS.ErrnoException) => (reason = err.code ?? err.message));
  sock.on('close', () => {
    sockets.delete(sock);
    emit({ type: 'conn_closed', remote, reason });
  });
});

serveUntilStopped(server, cfg, (done) => {
  for (const s of sockets) s.end();
  if (sockets.size === 0) done();
  server.on('close', done);
});
