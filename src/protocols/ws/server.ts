/**
 * The built-in WebSocket target (ws): accepts WebSocket clients on any path and records every
 * `MSG <seq>` text frame. With strategy ws side=server or both it also runs the server half of
 * ws's README heartbeat: a ping every `ping`, and a client whose pong is `timeout` late is
 * terminated. SIGTERM closes every client with 1001 (going away), then FIN.
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { rawText } from './text.js';
import { emit } from '../../events.js';
import { heartbeat } from '../../clients/heartbeat.js';
import { childConfig } from '../../util/child-main.js';
import { acceptingServer } from '../../targets/accept.js';
import { recordSeqLines } from '../../clients/workload.js';
import { serveUntilStopped } from '../../targets/serve.js';
import type { AppTargetConfig } from '../../targets/app/config.js';
import { pushWhenStarted, type Push } from '../../targets/app/push.js';

const cfg = childConfig<AppTargetConfig>();
const web = http.createServer((_req, res) => res.writeHead(426).end('WebSocket only\n'));
const wss = new WebSocketServer({ noServer: true });
web.on('upgrade', (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
);
const s = cfg.strategy;
const serverPings = s.kind === 'ws' && s.side !== 'client' ? s : null;

wss.on('connection', (ws: WebSocket) => {
  ws.on('message', (data) => recordSeqLines(rawText(data)));
  if (!serverPings) return;
  const hb = heartbeat({
    everyMs: serverPings.pingMs,
    timeoutMs: serverPings.timeoutMs,
    send: (n) => ws.ping(String(n)),
    onTimeout: () => {
      emit({ type: 'peer_timeout', what: 'ws pong' });
      ws.terminate();
    },
    quiet: true,
  });
  ws.on('pong', (data) => hb.ack(Number(rawText(data))));
  ws.on('close', () => hb.stop());
});

pushWhenStarted(cfg, () =>
  [...wss.clients]
    .filter((ws) => ws.readyState === ws.OPEN)
    .map(
      (ws): Push =>
        (text, done) =>
          ws.send(text, done),
    ),
);

const { server, whenAllClosed } = acceptingServer((sock) => web.emit('connection', sock));
serveUntilStopped(server, cfg, (done) => {
  for (const ws of wss.clients) ws.close(1001, 'server stopping');
  whenAllClosed(done);
});
