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
