/**
 * The life every built-in client shares (TCP, ws, HTTP/2, gRPC): dial, report `connected`, run
 * the workload on the live connection, and at the first failure report `detected` (or
 * `connect_failed` for a dial that never completed), then redial with capped exponential backoff.
 * The protocol module only says how to dial, send and close.
 */
import { emit, type Endpoint } from '../events.js';
import type { Workload } from '../core/workload.js';
import { onParentGone } from '../util/child-main.js';
import { publishLoop } from './workload.js';

export interface Live {
  /** Sends message `seq`; `done` says whether the library accepted it. */
  send(seq: number, done: (err?: Error | null) => void): void;
  /** Closes gracefully at the end of the run. */
  end(): void;
}

export interface Dial {
  attempt: number;
  /** The connection is up (and, for streams, the stream too). */
  established(
    live: Live,
    info?: { local?: Endpoint; remote?: Endpoint; sockopts?: Record<string, number> },
  ): void;
  /** The first failure of this connection is its detection; later calls do nothing. */
  fail(reason: string, code?: string): void;
  /** Runs at the failure: stop this connection's timers, destroy what is left of it. */
  onFail(fn: () => void): void;
}

export interface ReconnectingOptions {
  workload: Workload;
  /** First delay after a failure, doubled per failed attempt, capped (no jitter: repeatable). */
  backoff: { initialMs: number; maxMs: number };
  /** A dial that has not completed in this time is abandoned (SYNs into a partition). */
  connectTimeoutMs: number;
}

export function runReconnecting(o: ReconnectingOptions, dial: (d: Dial) => void): void {
  let attempt = 0;
  let live: Live | null = null;
  let stopping = false;
  let backoffMs = o.backoff.initialMs;
  let reconnectTimer: NodeJS.Timeout | undefined;

  function connect(): void {
    attempt += 1;
    const thisAttempt = attempt;
    emit({ type: 'connecting', attempt: thisAttempt });
    let established = false;
    let failed = false;
    let mine: Live | null = null;
    const cleanups: (() => void)[] = [];
    const dialTimer = setTimeout(() => d.fail('connect-timeout', 'ETIMEDOUT'), o.connectTimeoutMs);
    const d: Dial = {
      attempt: thisAttempt,
      established(l, info) {
        if (failed || established) return;
        clearTimeout(dialTimer);
        established = true;
        backoffMs = o.backoff.initialMs;
        mine = l;
        live = l;
        emit({ type: 'connected', attempt: thisAttempt, ...info });
      },
      fail(reason, code) {
        if (failed) return;
        failed = true;
        clearTimeout(dialTimer);
        if (live === mine) live = null;
        for (const fn of cleanups.splice(0)) fn();
        if (stopping) return;
        if (established) emit({ type: 'detected', reason, ...(code ? { code } : {}) });
        else emit({ type: 'connect_failed', attempt: thisAttempt, code: code ?? reason });
        emit({ type: 'backoff', delayMs: backoffMs });
        reconnectTimer = setTimeout(connect, backoffMs);
        backoffMs = Math.min(backoffMs * 2, o.backoff.maxMs);
      },
      onFail: (fn) => void cleanups.push(fn),
    };
    dial(d);
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
  if (o.workload.kind === 'publish') {
    publishLoop(
      o.workload.rate,
      (seq) => {
        if (!live) emit({ type: 'send_failed', seq, error: 'not connected' });
        else
          live.send(seq, (err) =>
            emit(err ? { type: 'send_failed', seq, error: err.message } : { type: 'sent', seq }),
          );
      },
      () => stopping,
    );
  }
}
