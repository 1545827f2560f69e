/**
 * The status line of long runs, and `--version`: what a user sees at the edges. A terminal that
 * reports 0 columns (some CI consoles, a detached tmux pane) still gets the line, cut at 100.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { lineWidth, Progress, type StatusStream } from '../src/cli/progress.js';
import { runCli } from './helpers.js';

/** A terminal of `columns` columns that keeps what is written to it. */
function terminal(columns: number | undefined): StatusStream & { text: string[] } {
  const text: string[] = [];
  return { isTTY: true, columns, text, write: (t: string) => text.push(t) };
}

/** What a line shows: the erase sequence taken off. */
const shown = (written: string): string => written.replace('\r\x1b[2K', '');

describe('the status line', () => {
  it('shows the status on a terminal that reports 0 columns, cut at 100', () => {
    for (const columns of [0, undefined]) {
      const t = terminal(columns);
      new Progress(undefined, t).update(`running ${'x'.repeat(200)}`);
      assert.equal(t.text.length, 1);
      assert.match(shown(t.text[0]!), /^\[\d+\.\ds\] running x+$/);
      assert.equal(shown(t.text[0]!).length, 100, String(columns));
    }
    assert.equal(lineWidth(0), 100);
    assert.equal(lineWidth(-1), 100);
  });

  it("is cut to a narrow terminal's width, the erase sequence not counted", () => {
    const t = terminal(20);
    new Progress(undefined, t).update('building testbed for a long while');
    assert.equal(shown(t.text[0]!).length, 20);
  });

  it('writes nothing where stderr is not a terminal, and nothing twice', () => {
    const pipe = { ...terminal(80), isTTY: false };
    new Progress(undefined, pipe).update('x');
    assert.deepEqual(pipe.text, []);
    const t = terminal(80);
    const p = new Progress(undefined, t);
    p.update('same');
    p.update('same');
    p.clear();
    assert.equal(t.text.length, 2, 'one line, then the clear');
  });
});

describe('--version', () => {
  it("prints the package's version and exits 0", async () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const r = await runCli(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });
});
