/**
 * The `subscribe` workload on the lab's own servers: once the runner writes `start` on stdin, the
 * server pushes `MSG <seq>` at the workload's rate to every connected client, from `firstSeq` (a
 * restarted server goes on where the last one stopped). A message counts as sent when a write to
 * a client completed without error; with no client connected it is `send_failed` (nothing
 * accepted, nothing lost).
 */
import { emit } from '../../events.js';
import { publishLoop } from '../../clients/workload.js';
import { onLines } from '../../util/lines.js';
import type { AppTargetConfig } from './config.js';

/** Writes one message to one client; `done` reports the write's outcome. */
export type Push = (text: string, done: (err?: Error | null) => void) => void;

export function pushWhenStarted(cfg: AppTargetConfig, clients: () => Push[]): void {
  const w = cfg.workload;
  if (w.kind !== 'subscribe') return;
  let started = false;
  let stopped = false;
  process.once('SIGTERM', () => (stopped = true));
  onLines(process.stdin, (line) => {
    if (line.trim() !== 'start' || started) return;
    started = true;
    const base = cfg.firstSeq - 1;
    publishLoop(
      w.rate,
      (n) => {
        const seq = base + n;
        const to = clients();
        if (to.length === 0) return emit({ type: 'send_failed', seq, error: 'no client' });
        let reported = false;
        for (const push of to)
          push(`MSG ${seq}`, (err) => {
            if (reported) return;
            reported = true;
            emit(err ? { type: 'send_failed', seq, error: err.message } : { type: 'sent', seq });
          });
      },
      () => stopped,
    );
  });
}
