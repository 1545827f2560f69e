/**
 * Shared start-up for the lab's child processes (clients and targets): read the JSON config from
 * argv, exit when the parent goes away (stdin closes), and turn SIGTERM into a graceful stop.
 */
import { emit } from '../events.js';

export function childConfig<T>(): T {
  // A failure nobody caught becomes one fatal event the runner reports, not a stack trace.
  const fatal = (err: unknown): never => {
    emit({ type: 'fatal', error: err instanceof Error ? err.message : String(err) });
    // The stack, for whoever reads the process's stderr (the runner keeps its tail).
    if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  const raw = process.argv[2];
  if (!raw) {
    process.stderr.write('usage: <child> <json-config> (started by the halfopen runner)\n');
    process.exit(2);
  }
  return JSON.parse(raw) as T;
}

export function onParentGone(stop: (why: string) => void): void {
  // The runner keeps our stdin open for as long as it lives; EOF means it died (even by SIGKILL).
  process.stdin.on('end', () => stop('parent-gone'));
  process.stdin.on('error', () => stop('parent-gone'));
  process.stdin.resume();
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
