/**
 * How the runner steers a sink: `start` on stdin begins the far side's publishing (once the
 * client is subscribed); SIGTERM, SIGINT or stdin closing stops it.
 */
import { onParentGone } from '../util/child-main.js';
import { onLines } from '../util/lines.js';

export interface SinkControl {
  onStart: (fn: () => void) => void;
  stopped: () => boolean;
}

export function sinkControl(stop: () => void): SinkControl {
  let stopping = false;
  let startFn: (() => void) | undefined;
  let started = false;
  onLines(process.stdin, (line) => {
    if (line.trim() !== 'start' || started) return;
    started = true;
    startFn?.();
  });
  onParentGone(() => {
    if (stopping) return;
    stopping = true;
    stop();
    setTimeout(() => process.exit(0), 300).unref();
  });
  return {
    onStart: (fn) => {
      startFn = fn;
      if (started) fn();
    },
    stopped: () => stopping,
  };
}
