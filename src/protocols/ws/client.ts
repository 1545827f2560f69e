/**
 * The WebSocket client (ws). Strategy ws: side=client pings every `ping` and gives up on a pong
 * `timeout` late; side=server expects the server's ping every `ping` and gives up when one is
 * `timeout` overdue (ws's README: interval + latency); both does both. Messages are `MSG <seq>`
 * text frames.
 */
import WebSocket from 'ws';
import { rawText } from './text.js';
import { recordSeqLines } from '../../clients/workload.js';
import type { ClientArgs } from '../types.js';
import { childConfig } from '../../util/child-main.js';
import { heartbeat } from '../../clients/heartbeat.js';
import { runReconnecting, type ReconnectingOptions } from '../../clients/reconnecting.js';

const cfg = childConfig<ClientArgs & Omit<ReconnectingOptions, 'workload'>>();
const s = cfg.strategy.kind === 'ws' ? cfg.strategy : null;

runReconnecting(cfg, (d) => {
  const ws = new WebSocket(`ws://${cfg.host}:${cfg.port}/${cfg.clientId}`);
  d.onFail(() => ws.terminate());
  ws.on('message', (data) => recordSeqLines(rawText(data)));
  ws.on('open', () => {
    d.established({
      send: (seq, done) => ws.send(`MSG ${seq}`, done),
      end: () => ws.close(1000, 'client done'),
    });
    if (s && s.side !== 'server') {
      const hb = heartbeat({
        everyMs: s.pingMs,
        timeoutMs: s.timeoutMs,
        send: (n) => ws.ping(String(n)),
        onTimeout: () => d.fail('pong-timeout'),
      });
      d.onFail(hb.stop);
      ws.on('pong', (data) => hb.ack(Number(rawText(data))));
    }
    if (s && s.side !== 'client') {
      // The README's client half: every server ping re-arms a timer of interval + latency.
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => d.fail('server-ping-timeout'), s.pingMs + s.timeoutMs);
      };
      arm();
      ws.on('ping', arm);
      d.onFail(() => clearTimeout(timer));
    }
  });
  ws.on('close', (code, reason) =>
    d.fail('close', `${code}${reason.length ? ` ${String(reason)}` : ''}`),
  );
  ws.on('error', (err: NodeJS.ErrnoException) => d.fail('error', err.code ?? err.message));
});
