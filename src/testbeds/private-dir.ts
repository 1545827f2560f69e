/** An experiment's private temp directory (broker configs), made on first use, removed at teardown. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Teardowns } from '../util/teardown.js';

export class PrivateDir {
  private dir: string | undefined;

  constructor(
    /** `halfopen-<run>-<index>-`; mkdtemp adds six characters. */
    private readonly prefix: string,
    private readonly teardowns: Teardowns,
  ) {}

  path(): string {
    if (this.dir === undefined) {
      // Registered before the directory exists; it learns the name mkdtemp picks.
      this.teardowns.defer(`remove the directory ${this.prefix}*`, () => {
        if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
      });
      // mkdtemp: a fresh directory of our own (mode 0700), never one someone prepared for us.
      this.dir = mkdtempSync(join(tmpdir(), this.prefix));
    }
    return this.dir;
  }

  write(files: Record<string, string>): void {
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(this.path(), name), content, { mode: 0o644 });
  }
}
