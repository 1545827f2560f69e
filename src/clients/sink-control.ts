/**
 * How the runner steers a sink: `start` on stdin begins the far side's publishing (once the
 * client is subscribed); SIGTERM, SIGINT or stdin closing stops it.
 */
import { onLines } from '../util/lines.js';

export interface SinkControl {
  onStart: (fn: () => void) => void;
  stopped: () => boolean;
}

export function sinkControl(stop: () => void): SinkControl {
  let stopping = false;
  let startFn: (() => void) | undefined;
  let started = false;
  const halt = (): void => {
    if (stopping) return;
    stopping = true;
    stop();
    setTimeout(() => process.exit(0), 300).unref();
  };
  onLines(process.stdin, (line) => {
    if (line.trim() !== 'start' || started) return;
    started = true;
    startFn?.();
  });
  process.stdin.on('end', halt);
  process.stdin.on('error', halt);
  process.on('SIGTERM', halt);
  process.on('SIGINT', halt);
  return {
    onStart: (fn) => {
      startFn = fn;
      if (started) fn();
    },
    stopped: () => stopping,
  };
}
