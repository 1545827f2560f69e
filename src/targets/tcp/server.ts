/**
 * The built-in TCP target: a line protocol server that is also the sink.
 *   client -> server: `HELLO <client> <attempt>`, `MSG <seq>`, `PING <n>`
 *   server -> client: `PONG <n>`
 * Every MSG sequence number received is reported as a `recv` event. SIGTERM is a graceful
 * shutdown: stop accepting, FIN every connection, exit.
 */
import net from 'node:net';
import { emit, type Endpoint } from '../../events.js';
import { childConfig, onParentGone } from '../../util/child-main.js';
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

server.on('error', (err) => {
  emit({ type: 'fatal', error: err.message });
  process.exit(1);
});
server.listen(cfg.port, cfg.host, () =>
  emit({ type: 'listening', address: cfg.host, port: cfg.port }),
);

let stopping = false;
onParentGone((why) => {
  if (stopping) return;
  stopping = true;
  emit({ type: 'stopping', signal: why });
  server.close();
  for (const s of sockets) s.end();
  // Exit once every peer has closed, or after a grace period if one never answers our FIN.
  const done = (): void => process.exit(0);
  if (sockets.size === 0) done();
  server.on('close', done);
  setTimeout(done, 2000).unref();
});
