/**
 * The built-in TCP client: connects to the TCP target, applies a detection strategy, runs a
 * workload, and reconnects with backoff after it notices a failure. Reports JSON-line events.
 */
import net from 'node:net';
import { emit } from '../../events.js';
import type { ClientArgs } from '../index.js';
import { childConfig, onParentGone } from '../../util/child-main.js';
import { onLines } from '../../util/lines.js';
import { publishLoop } from '../workload.js';
import { applyStrategy, readSockopts } from './sockopts.js';

export interface TcpClientConfig extends ClientArgs {
  /** Reconnect backoff: first delay, doubled per failed attempt, capped. */
  backoff: { initialMs: number; maxMs: number };
  /** A dial that has not completed in this time is abandoned (SYNs into a partition). */
  connectTimeoutMs: number;
}

const cfg = childConfig<TcpClientConfig>();

let attempt = 0;
let live: net.Socket | null = null;
let stopping = false;
let backoffMs = cfg.backoff.initialMs;
let reconnectTimer: NodeJS.Timeout | undefined;

function connect(): void {
  attempt += 1;
  const thisAttempt = attempt;
  emit({ type: 'connecting', attempt: thisAttempt });
  const sock = net.connect({ host: cfg.host, port: cfg.port, noDelay: true });
  let established = false;
  let failed = false;
  const heartbeat = new Map<number, NodeJS.Timeout>();
  let pingTimer: NodeJS.Timeout | undefined;
  const dialTimer = setTimeout(() => fail('connect-timeout', 'ETIMEDOUT'), cfg.connectTimeoutMs);

  // 1. The first failure on a connection is its detection; everything after is cleanup.
  function fail(reason: string, code?: string): void {
    if (failed) return;
    failed = true;
    clearTimeout(dialTimer);
    clearInterval(pingTimer);
    for (const t of heartbeat.values()) clearTimeout(t);
    if (live === sock) live = null;
    if (stopping) return;
    if (established) emit({ type: 'detected', reason, ...(code ? { code } : {}) });
    else emit({ type: 'connect_failed', attempt: thisAttempt, code: code ?? reason });
    sock.destroy();
    // 2. Reconnect with capped exponential backoff (no jitter: the lab wants repeatable timing).
    emit({ type: 'backoff', delayMs: backoffMs });
    reconnectTimer = setTimeout(connect, backoffMs);
    backoffMs = Math.min(backoffMs * 2, cfg.backoff.maxMs);
  }

  sock.once('connect', () => {
    clearTimeout(dialTimer);
    established = true;
    backoffMs = cfg.backoff.initialMs;
    applyStrategy(sock, cfg.strategy);
    emit({
      type: 'connected',
      attempt: thisAttempt,
      local: { address: sock.localAddress ?? '?', port: sock.localPort ?? 0 },
      remote: { address: sock.remoteAddress ?? '?', port: sock.remotePort ?? 0 },
      sockopts: readSockopts(sock, cfg.strategy),
    });
    sock.write(`HELLO ${cfg.clientId} ${thisAttempt}\n`);
    live = sock;
    if (cfg.strategy.kind === 'heartbeat') {
      const { intervalMs, timeoutMs } = cfg.strategy;
      let n = 0;
      pingTimer = setInterval(() => {
        n += 1;
        const id = n;
        sock.write(`PING ${id}\n`);
        emit({ type: 'ping', n: id });
        heartbeat.set(
          id,
          setTimeout(() => fail('heartbeat-timeout'), timeoutMs),
        );
      }, intervalMs);
    }
  });
  onLines(sock, (line) => {
    const [verb, a] = line.split(' ');
    if (verb !== 'PONG') return;
    const n = Number(a);
    emit({ type: 'pong', n });
    // A pong answers its ping and every earlier one (the stream is ordered).
    for (const [id, t] of heartbeat) {
      if (id <= n) {
        clearTimeout(t);
        heartbeat.delete(id);
      }
    }
  });
  sock.on('error', (err: NodeJS.ErrnoException) => fail('error', err.code ?? err.message));
  sock.on('end', () => fail('eof'));
  sock.on('close', () => fail('close'));
}

onParentGone(() => {
  if (stopping) return;
  stopping = true;
  clearTimeout(reconnectTimer);
  emit({ type: 'closed' });
  live?.end();
  setTimeout(() => process.exit(0), 100).unref();
});

connect();
if (cfg.workload.kind === 'publish') {
  publishLoop(
    cfg.workload.rate,
    (s) => {
      const sock = live;
      if (!sock) emit({ type: 'send_failed', seq: s, error: 'not connected' });
      else
        sock.write(`MSG ${s}\n`, (err) =>
          emit(
            err ? { type: 'send_failed', seq: s, error: err.message } : { type: 'sent', seq: s },
          ),
        );
    },
    () => stopping,
  );
}
