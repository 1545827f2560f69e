/**
 * All timestamps are CLOCK_MONOTONIC nanoseconds from process.hrtime.bigint(). The clock is shared
 * by every process on the host (network namespaces do not change it), so events from the runner,
 * the client and the target land on one time axis.
 */
export const now = (): bigint => process.hrtime.bigint();

/** Milliseconds from `from` to `to`, with microsecond precision. */
export const msBetween = (from: bigint, to: bigint): number => Number(to - from) / 1e6;

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Waits for `p`, at most `ms`; the timer is cleared as soon as `p` settles, so a finished wait
 * never keeps the process alive.
 */
export async function within<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<void> {
  const stop = new AbortController();
  const stops = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  try {
    await Promise.race([p, sleep(ms, stops)]);
  } finally {
    stop.abort();
  }
}
