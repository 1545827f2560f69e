/**
 * One abort signal shared by many concurrent jobs, without a listener per job on it: the fan-out
 * listens on the shared signal once and aborts each job's own controller. Every wait inside a job
 * (a sleep, a timeline wait, a spawned process) listens on the job's signal instead, so the shared
 * one holds one listener however many jobs run (Node warns from 11 on one target:
 * MaxListenersExceededWarning), and none once the fan-out is closed.
 */
export class AbortFanOut {
  private readonly live = new Set<AbortController>();
  private readonly onAbort = (): void => {
    for (const c of this.live) c.abort(this.parent?.reason);
  };

  constructor(private readonly parent?: AbortSignal) {
    parent?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Runs `job` with its own signal, aborted with the shared one (at once if it already is). */
  async run<T>(job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const own = new AbortController();
    if (this.parent?.aborted) own.abort(this.parent.reason);
    this.live.add(own);
    try {
      return await job(own.signal);
    } finally {
      this.live.delete(own);
    }
  }

  /** Stops listening on the shared signal (call once every job has ended). */
  close(): void {
    this.parent?.removeEventListener('abort', this.onAbort);
  }
}
