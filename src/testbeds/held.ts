/**
 * A process the testbed starts, whose stop is registered on the run's teardown stack before it
 * exists (the stack's rule): at teardown it is killed and waited for, a little. Every testbed
 * starts its processes through this.
 */
import type { LabProcess } from '../core/process.js';
import { within } from '../util/clock.js';
import type { Teardowns } from '../util/teardown.js';

export function spawnHeld(teardowns: Teardowns, what: string, start: () => LabProcess): LabProcess {
  const held: { proc?: LabProcess } = {};
  teardowns.defer(`stop ${what}`, async () => {
    const { proc } = held;
    if (!proc) return;
    proc.kill('SIGKILL');
    // Bounded: a process that survives is killed again with its namespace (or its pod).
    await within(proc.exited, 5000);
  });
  held.proc = start();
  return held.proc;
}
