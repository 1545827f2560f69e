import type { Readable, Writable } from 'node:stream';

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
