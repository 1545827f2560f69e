/**
 * One experiment's timeline: every event from the client, the target and the lab, in arrival
 * order, with waiters that wake when a matching event arrives.
 */
import type {
  ClientEvent,
  LabEvent,
  SinkEvent,
  Source,
  TargetEvent,
  TimelineEntry,
} from '../events.js';
import { ProcessError } from '../errors.js';
import type { LabProcess } from '../core/process.js';
import { now } from '../util/clock.js';
import { onLines } from '../util/lines.js';

type Pred = (e: TimelineEntry) => boolean;

export class Timeline {
  readonly entries: TimelineEntry[] = [];
  private waiters = new Set<{ pred: Pred; resolve: (e: TimelineEntry | null) => void }>();

  push(entry: TimelineEntry): void {
    this.entries.push(entry);
    for (const w of this.waiters) {
      if (w.pred(entry)) {
        this.waiters.delete(w);
        w.resolve(entry);
      }
    }
  }

  mark(event: LabEvent): TimelineEntry {
    const entry = { t: now(), src: 'lab', ...event } as TimelineEntry;
    this.push(entry);
    return entry;
  }

  find(pred: Pred): TimelineEntry | undefined {
    return this.entries.find(pred);
  }

  /** The first entry (past or future) matching `pred`, or null after `timeoutMs` or on abort. */
  waitFor(pred: Pred, timeoutMs: number, signal?: AbortSignal): Promise<TimelineEntry | null> {
    const seen = this.entries.find(pred);
    if (seen) return Promise.resolve(seen);
    return this.waitForNext(pred, timeoutMs, signal);
  }

  /** The next entry *to arrive* matching `pred`, or null after `timeoutMs` or on abort. */
  waitForNext(pred: Pred, timeoutMs: number, signal?: AbortSignal): Promise<TimelineEntry | null> {
    return new Promise((resolve) => {
      const waiter = {
        pred,
        resolve: (e: TimelineEntry | null) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          resolve(e);
        },
      };
      const onAbort = (): void => waiter.resolve(null);
      const timer = setTimeout(() => waiter.resolve(null), Math.max(0, timeoutMs));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /**
   * Feeds a child's JSON-line events into the timeline. A line that is not an event is a bug in
   * the child; it is kept as a fatal event rather than thrown away.
   */
  attach(src: Exclude<Source, 'lab'>, proc: LabProcess, pod?: string): void {
    onLines(proc.stdout, (line) => {
      let parsed: { t: string } & (ClientEvent | TargetEvent | SinkEvent);
      try {
        parsed = JSON.parse(line) as typeof parsed;
        if (typeof parsed !== 'object' || parsed === null || !/^\d+$/.test(String(parsed.t))) {
          throw new Error('not an event');
        }
      } catch {
        parsed = {
          t: now().toString(),
          type: 'fatal',
          error: `unparsable output: ${line.slice(0, 200)}`,
        };
      }
      this.push({ ...parsed, src, t: BigInt(parsed.t), ...(pod ? { pod } : {}) } as TimelineEntry);
    });
  }

  /**
   * Feeds a broker's log (stdout and stderr) into the timeline as target `log` events, stamped on
   * arrival, and a `listening` event at the first line matching `ready`.
   */
  attachLog(
    proc: LabProcess,
    ready: RegExp,
    listening: { address: string; port: number },
    pod?: string,
  ): void {
    let isReady = false;
    const tag = pod ? { pod } : {};
    for (const stream of [proc.stdout, proc.stderr]) {
      onLines(stream, (line) => {
        this.push({ t: now(), src: 'target', type: 'log', line: line.slice(0, 500), ...tag });
        if (!isReady && ready.test(line)) {
          isReady = true;
          this.push({ t: now(), src: 'target', type: 'listening', ...listening, ...tag });
        }
      });
    }
  }
}

/** Waits for a child's readiness event, failing with its stderr if it exits or stalls first. */
export async function waitReady(
  timeline: Timeline,
  proc: LabProcess,
  what: string,
  pred: Pred,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<TimelineEntry> {
  // A process that exits first ends the wait, its timer included (which would hold the run open).
  const gone = new AbortController();
  const exited = proc.exited.then(() => {
    gone.abort();
    return null;
  });
  const until = signal ? AbortSignal.any([signal, gone.signal]) : gone.signal;
  const entry = await Promise.race([timeline.waitFor(pred, timeoutMs, until), exited]);
  if (entry) return entry;
  if (signal?.aborted) throw new ProcessError(`${what}: interrupted`);
  const fatal = timeline.find((e) => e.type === 'fatal');
  const why =
    fatal && 'error' in fatal
      ? fatal.error
      : proc.stderrTail().trim().split('\n').slice(-3).join(' | ');
  const how = proc.hasExited()
    ? `exited (${await proc.exited}) before it was ready`
    : `did not become ready within ${timeoutMs} ms`;
  throw new ProcessError(`${what} ${how}${why ? `: ${why}` : ''}`);
}
