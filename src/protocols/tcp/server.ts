/**
 * The built-in TCP target: a line protocol server that is also the sink.
 *   client -> server: `HELLO <client> <attempt>`, `MSG <seq>`, `PING <n>`
 *   server -> client: `PONG <n>`
 * Every MSG sequence number received is reported as a `recv` event. SIGTERM is a graceful
 * shutdown: stop accepting, FIN every connection, exit.
 */
import { emit } from '../../events.js';
import { childConfig } from '../../util/child-main.js';
import { onLines } from '../../util/lines.js';
import { acceptingServer } from '../../targets/accept.js';
import { recordSeqLines } from '../../clients/workload.js';
import { serveUntilStopped } from '../../targets/serve.js';

export interface TcpTargetConfig {
  host: string;
  port: number;
}

const cfg = childConfig<TcpTargetConfig>();

const { server, sockets, whenAllClosed } = acceptingServer((sock) =>
  onLines(sock, (line) => {
    const [verb, a, b] = line.split(' ');
    if (verb === 'PING') sock.write(`PONG ${a}\n`);
    else if (verb === 'HELLO') emit({ type: 'hello', client: a ?? '?', attempt: Number(b) });
    else recordSeqLines(line);
  }),
);

serveUntilStopped(server, cfg, (done) => {
  for (const s of sockets) s.end();
  whenAllClosed(done);
});
