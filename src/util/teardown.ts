/**
 * A stack of teardowns. Register a resource's teardown *before* creating it, so a failure half way
 * through creation is still undone. `runAll` runs them in reverse, never stops at a failing one,
 * and returns what failed.
 */
export class Teardowns {
  private readonly stack: { what: string; fn: () => Promise<void> | void }[] = [];

  defer(what: string, fn: () => Promise<void> | void): void {
    this.stack.push({ what, fn });
  }

  async runAll(): Promise<string[]> {
    const failures: string[] = [];
    for (let item = this.stack.pop(); item; item = this.stack.pop()) {
      try {
        await item.fn();
      } catch (err) {
        failures.push(`${item.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return failures;
  }
}
