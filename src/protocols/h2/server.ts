/**
 * The built-in HTTP/2 target (node:http2, cleartext h2c): answers any request with 200 at once
 * and keeps the stream open, recording every `MSG <seq>` line of the request body. SIGTERM is a
 * graceful stop: GOAWAY on every session, end every response, then FIN.
 */
import http2 from 'node:http2';
import { childConfig } from '../../util/child-main.js';
import { acceptingServer } from '../../targets/accept.js';
import { recordSeqLines } from '../../clients/workload.js';
import { serveUntilStopped } from '../../targets/serve.js';
import { onLines } from '../../util/lines.js';
import type { AppTargetConfig } from '../../targets/app/config.js';
import { pushWhenStarted, type Push } from '../../targets/app/push.js';

const cfg = childConfig<AppTargetConfig>();
const h2 = http2.createServer();
const sessions = new Set<http2.ServerHttp2Session>();
const streams = new Set<http2.ServerHttp2Stream>();
h2.on('session', (session) => {
  sessions.add(session);
  session.on('close', () => sessions.delete(session));
  session.on('error', () => undefined);
});
h2.on('stream', (stream) => {
  streams.add(stream);
  stream.on('close', () => streams.delete(stream));
  stream.on('error', () => undefined);
  stream.respond({ ':status': 200, 'content-type': 'text/plain' });
  onLines(stream, recordSeqLines);
});

pushWhenStarted(cfg, () =>
  [...streams]
    .filter((s) => !s.destroyed && s.writable)
    .map(
      (s): Push =>
        (text, done) =>
          s.write(`${text}\n`, done),
    ),
);

const { server, whenAllClosed } = acceptingServer((sock) => h2.emit('connection', sock));
serveUntilStopped(server, cfg, (done) => {
  for (const session of sessions) session.close();
  for (const stream of streams) stream.end();
  whenAllClosed(done);
});
