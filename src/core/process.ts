import { PassThrough, Writable, type Readable } from 'node:stream';

/** A process the lab started inside a testbed (client or target), as the runner sees it. */
export interface LabProcess {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly stdin: Writable;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  readonly hasExited: () => boolean;
  /** Recent stderr, for error messages. */
  readonly stderrTail: () => string;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Several processes as one (a target's replicas, their sinks): a write reaches each, a signal
 * each; it has exited once every one has. Its own output is empty: each member is attached to the
 * timeline by itself. A member added later (a replacement pod) joins the group.
 */
export class ProcessGroup implements LabProcess {
  private readonly members: LabProcess[] = [];
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly stdin: Writable;

  constructor(first: readonly LabProcess[] = []) {
    const members = this.members;
    this.stdin = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const m of members) if (!m.hasExited()) m.stdin.write(chunk);
        done();
      },
    });
    for (const p of first) this.add(p);
  }

  add(p: LabProcess): void {
    this.members.push(p);
  }

  get pid(): number {
    return this.members[0]?.pid ?? -1;
  }

  get exited(): Promise<number | string> {
    return Promise.all(this.members.map((m) => m.exited)).then((codes) => codes.at(-1) ?? 0);
  }

  hasExited = (): boolean => this.members.every((m) => m.hasExited());

  stderrTail = (): string => this.members.map((m) => m.stderrTail()).join('\n');

  kill(signal: NodeJS.Signals): void {
    for (const m of this.members) m.kill(signal);
  }
}
