/**
 * An application heartbeat: a ping every `everyMs`, each with its own `timeoutMs` timer; an
 * answer to ping n answers every earlier one too (the stream is ordered). The first ping left
 * unanswered for `timeoutMs` calls `onTimeout`, once. Used by the TCP, ws and HTTP/2 clients and
 * by the ws server.
 */
import { emit } from '../events.js';

export interface Heartbeat {
  ack: (n: number) => void;
  stop: () => void;
}

export function heartbeat(o: {
  everyMs: number;
  timeoutMs: number;
  send: (n: number) => void;
  onTimeout: () => void;
  /** Do not report each ping and pong (the server's side). */
  quiet?: boolean;
}): Heartbeat {
  const pending = new Map<number, NodeJS.Timeout>();
  let n = 0;
  let over = false;
  const stop = (): void => {
    over = true;
    clearInterval(every);
    for (const t of pending.values()) clearTimeout(t);
    pending.clear();
  };
  const every = setInterval(() => {
    const id = ++n;
    pending.set(
      id,
      setTimeout(() => {
        if (over) return;
        stop();
        o.onTimeout();
      }, o.timeoutMs),
    );
    if (!o.quiet) emit({ type: 'ping', n: id });
    o.send(id);
  }, o.everyMs);
  return {
    ack(id) {
      if (over || !Number.isInteger(id)) return;
      if (!o.quiet) emit({ type: 'pong', n: id });
      for (const [k, t] of pending) {
        if (k <= id) {
          clearTimeout(t);
          pending.delete(k);
        }
      }
    },
    stop,
  };
}
