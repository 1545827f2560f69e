import { emit } from '../events.js';

/**
 * What every client and sink shares: the message schedule and the subject messages travel on.
 * Runs inside the lab's child processes.
 */

/** The subject (NATS, `.`) or topic (MQTT, `/`) an experiment's messages travel on. */
export const subjectFor = (clientId: string, separator: '.' | '/'): string =>
  `halfopen${separator}${clientId}`;

/**
 * Calls `send(seq)` with seq = 1, 2, ... at `rate` per second until `stopped()` is true. Scheduled
 * against the monotonic clock, so the rate does not drift with timer lateness.
 */
export function publishLoop(
  rate: number,
  send: (seq: number) => void,
  stopped: () => boolean,
): void {
  const periodMs = 1000 / rate;
  const start = performance.now();
  let seq = 0;
  const tick = (): void => {
    // Send every message that is due: above ~1000/s one timer tick covers several.
    do {
      if (stopped()) return;
      seq += 1;
      send(seq);
    } while (start + (seq + 1) * periodMs <= performance.now());
    setTimeout(tick, start + (seq + 1) * periodMs - performance.now());
  };
  setTimeout(tick, periodMs);
}

/**
 * The lab's message format on every built-in protocol: `MSG <seq>` (a WebSocket text frame, a
 * line of an HTTP/2 request body, a gRPC message). Each one received is reported as a `recv`, by
 * the server of a publishing client or by a subscribing client.
 */
export function recordSeqLines(text: string): void {
  for (const line of text.split('\n')) {
    const m = /^MSG (\d+)$/.exec(line.trim());
    if (m) emit({ type: 'recv', seq: Number(m[1]) });
  }
}
