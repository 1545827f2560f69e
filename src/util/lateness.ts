/**
 * The lab's own timer lateness, measured inside each child process that reports events (clients,
 * targets, sinks, the kernel watcher): how late a repeating timer of this process's event loop
 * fires (perf_hooks.monitorEventLoopDelay: a libuv timer every RESOLUTION_MS, each run recording
 * the time since the last one). A loop that is blocked, or a process the scheduler leaves waiting
 * on a loaded machine, makes every timer of the client late by as much, and every event it reports
 * too: that is the part of a detection the strategy's formula cannot know.
 *
 * Reported every REPORT_MS as one event line, `{t, type: 'lateness', max_ms, p99_ms,
 * period_ms}` covering (t - period_ms, t], and once more at exit. A process killed with SIGKILL
 * loses at most its last period. The runner keeps the largest `max_ms` of the periods that matter
 * (runner/metrics.ts).
 *
 * Started by the first `emit()` (events.ts), so only processes whose stdout carries events report
 * it: not the supervisor of your own program, whose stdout is the program's.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { now } from './clock.js';

/** The probe timer's period. Lateness shorter than this may go unseen (the allowance's 25 ms). */
export const LATENESS_RESOLUTION_MS = 20;
/** How often a process reports. */
export const LATENESS_REPORT_MS = 500;

let started = false;

export function watchTimerLateness(): void {
  if (started) return;
  started = true;
  const histogram = monitorEventLoopDelay({ resolution: LATENESS_RESOLUTION_MS });
  histogram.enable();
  let since = now();
  const report = (): void => {
    const at = now();
    // Each sample is the time between two runs of the probe timer: its period plus the lateness.
    const late = (ns: number): number =>
      Math.max(0, Math.round((ns / 1e6 - LATENESS_RESOLUTION_MS) * 10) / 10);
    if (histogram.count > 0) {
      const line = {
        t: at.toString(),
        type: 'lateness',
        max_ms: late(histogram.max),
        p99_ms: late(histogram.percentile(99)),
        period_ms: Math.round(Number(at - since) / 1e5) / 10,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    histogram.reset();
    since = at;
  };
  setInterval(report, LATENESS_REPORT_MS).unref();
  // Writes to a pipe are synchronous on Linux, so the last period gets out before the exit.
  process.on('exit', report);
}
