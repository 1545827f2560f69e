/**
 * The own-client guide's worked example (docs/guides/own-client.md): the nats.go publisher in
 * examples/go/nats-publisher, built as the guide builds it (GOPATH mode against Debian's nats.go,
 * offline) and run as the guide runs it, with the strategy `tune --emit nats.go` prints, through
 * a partition on netns. It must carry the options `tune` prints, notice inside nats.go's window,
 * and report what it sent.
 *
 * Tolerances: the verdict's own allowance (25 ms + 1 % and the lab's measured lateness); the
 * message count allows a slow start (see below). Nothing else is timed.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { GOPATH, goSkip, runOwn, type BuiltClient } from './emit-go.js';
import { netnsSkip, runCli } from './helpers.js';

const SOURCE = fileURLToPath(new URL('../../examples/go/nats-publisher/', import.meta.url));

describe(
  "the own-client guide's nats.go publisher, built and run through a partition",
  { skip: netnsSkip || goSkip('github.com/nats-io/nats.go') },
  () => {
    let client: BuiltClient | null = null;

    before(async () => {
      const tuned = await runCli([
        'tune',
        '--target',
        'nats',
        '--within',
        '10s',
        '--emit',
        'nats.go',
        '--json',
      ]);
      const [e] = tuned.json<{
        emit: { strategy: string; predicted_ms: [number, number] | null; code: string }[];
      }>().emit;
      assert.equal(tuned.code, 0, tuned.stderr);
      assert.ok(e, tuned.stdout);
      // The guide's commands and window: nats.go stale on the second 5 s tick after the silence.
      assert.equal(e.strategy, 'nats:ping=5s,maxout=1,wait=2s,attempts=-1,lib=go');
      assert.deepEqual(e.predicted_ms, [5000, 10_000]);
      // The program carries the options tune prints, line for line.
      const main = readFileSync(join(SOURCE, 'main.go'), 'utf8');
      const options = e.code.split('\n').filter((l) => /^\tnats\.\w+\(/.test(l));
      assert.equal(options.length, 4, e.code);
      for (const line of options)
        assert.ok(main.includes(`\t${line}\n`), `main.go has tune's ${line.trim()}`);

      // Built as the guide says, into a directory (and build cache) of this test's own.
      const dir = mkdtempSync(join(tmpdir(), 'halfopen-guide-go-'));
      const binary = join(dir, 'nats-publisher');
      const build = spawnSync('go', ['build', '-o', binary, '.'], {
        cwd: SOURCE,
        encoding: 'utf8',
        env: {
          ...process.env,
          GO111MODULE: 'off',
          GOPATH,
          GOCACHE: join(dir, 'cache'),
          GOFLAGS: '',
        },
      });
      assert.equal(build.status, 0, `go build: ${build.stderr}`);
      client = { dir, binary, strategy: e.strategy, predicted_ms: e.predicted_ms };
    });

    after(() => {
      if (client) rmSync(client.dir, { recursive: true, force: true });
    });

    it('notices inside (5 s, 10 s] and reports each message nats.go accepted', async () => {
      const { res, what } = await runOwn(client!, [
        '--target',
        'nats',
        '--workload',
        'publish:5',
        '--fault',
        'partition',
      ]);
      const r = res as typeof res & {
        lost_from: string;
        lost: number;
        stale_sent: number | null;
        fault_apply_ms: number | null;
      };
      assert.deepEqual(r.predicted_ms, [5000, 10_000], what);
      assert.equal(r.verdict, 'inside', what);
      assert.equal(r.lost_from, 'accepted', `it printed "sent <n>": ${what}`);
      // 5 a second for at least the 5 s before detection: 25, with room for a slow start.
      assert.ok((r.sent ?? 0) >= 20, what);
      // What nats.go accepted after the fault went into the dead connection and is lost, but
      // for one or two that crossed while the partition was being applied.
      const crossing = 1 + Math.ceil((5 * (r.fault_apply_ms ?? 0)) / 1000);
      assert.ok((r.stale_sent ?? 0) >= 20, what);
      assert.ok(r.lost >= r.stale_sent! - crossing, what);
    });
  },
);
