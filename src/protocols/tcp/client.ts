/**
 * The built-in TCP client: connects to the TCP target, applies a detection strategy (TCP options,
 * or the line protocol's PING/PONG heartbeat), runs a workload, and reconnects with backoff after
 * it notices a failure. Reports JSON-line events.
 */
import net from 'node:net';
import type { ClientArgs } from '../types.js';
import { childConfig } from '../../util/child-main.js';
import { onLines } from '../../util/lines.js';
import { heartbeat } from '../../clients/heartbeat.js';
import { runReconnecting, type ReconnectingOptions } from '../../clients/reconnecting.js';
import { applyStrategy, readSockopts } from './sockopts.js';

export type TcpClientConfig = ClientArgs & Omit<ReconnectingOptions, 'workload'>;

const cfg = childConfig<TcpClientConfig>();

runReconnecting(cfg, (d) => {
  const sock = net.connect({ host: cfg.host, port: cfg.port, noDelay: true });
  d.onFail(() => sock.destroy());
  sock.once('connect', () => {
    applyStrategy(sock, cfg.strategy);
    sock.write(`HELLO ${cfg.clientId} ${d.attempt}\n`);
    d.established(
      {
        send: (seq, done) => sock.write(`MSG ${seq}\n`, done),
        end: () => sock.end(),
      },
      {
        local: { address: sock.localAddress ?? '?', port: sock.localPort ?? 0 },
        remote: { address: sock.remoteAddress ?? '?', port: sock.remotePort ?? 0 },
        sockopts: readSockopts(sock, cfg.strategy),
      },
    );
    if (cfg.strategy.kind === 'heartbeat') {
      const hb = heartbeat({
        everyMs: cfg.strategy.intervalMs,
        timeoutMs: cfg.strategy.timeoutMs,
        send: (n) => sock.write(`PING ${n}\n`),
        onTimeout: () => d.fail('heartbeat-timeout'),
      });
      d.onFail(hb.stop);
      onLines(sock, (line) => {
        const [verb, n] = line.split(' ');
        if (verb === 'PONG') hb.ack(Number(n));
      });
    }
  });
  sock.on('error', (err: NodeJS.ErrnoException) => d.fail('error', err.code ?? err.message));
  sock.on('end', () => d.fail('eof'));
  sock.on('close', () => d.fail('close'));
});
