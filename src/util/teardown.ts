/**
 * A stack of teardowns. Register a resource's teardown *before* creating it, so a failure half way
 * through creation is still undone. `runAll` runs them in reverse, never stops at a failing one,
 * and returns what failed.
 */
import { LabError } from '../errors.js';

export class Teardowns {
  private readonly stack: { what: string; fn: () => Promise<void> | void }[] = [];
  private closed = false;

  /**
   * Registers a teardown. Once `runAll` has finished nothing would ever run it, so registering
   * then throws instead, and whatever was about to be created is not.
   */
  defer(what: string, fn: () => Promise<void> | void): void {
    if (this.closed) throw new LabError(`torn down already: not creating (${what})`);
    this.stack.push({ what, fn });
  }

  /**
   * Registers a teardown that runs before every other: a loop that may still create things must
   * stop before what it created is torn down.
   */
  deferFirst(what: string, fn: () => Promise<void> | void): void {
    if (this.closed) throw new LabError(`torn down already: not creating (${what})`);
    this.first.push({ what, fn });
  }

  private readonly first: { what: string; fn: () => Promise<void> | void }[] = [];

  async runAll(): Promise<string[]> {
    const failures: string[] = [];
    for (
      let item = this.first.pop() ?? this.stack.pop();
      item;
      item = this.first.pop() ?? this.stack.pop()
    ) {
      try {
        await item.fn();
      } catch (err) {
        failures.push(`${item.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // Until here a teardown may still register one (a heal it stops may have been mid-step).
    this.closed = true;
    return failures;
  }
}
