/**
 * `tune --emit` for the NATS client libraries, each library's own ping rule (`lib=`), and the
 * proof: the nats.go options `tune --emit nats.go` prints, compiled into a small Go client
 * (test/fixtures/emit/nats_go_client.go.tmpl) against Debian's nats.go, run as your own client
 * through a partition and a node loss, detected inside nats.go's window.
 *
 * Tolerances: the verdict's own allowance (25 ms + 1 % and the lab's measured lateness); nothing
 * else is timed here.
 */
import { strict as assert } from 'node:assert';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tuneCommand } from '../src/cli/tune.js';
import { emit, EMITTERS } from '../src/emit/index.js';
import { tune } from '../src/advise/tune.js';
import { parseWorkload } from '../src/scenario/spec.js';
import { formatStrategy, parseStrategy, silentPath } from '../src/strategies/index.js';
import { assertBadInput, assertSnapshot, netnsSkip, specOf, tuneFlags } from './helpers.js';
import { emitAndBuild, goSkip, runOwn, type BuiltClient } from './emit-go.js';

const idle = { workload: parseWorkload('idle'), sysctls: {}, qos: 0 as const };
const subscribing = { ...idle, workload: parseWorkload('subscribe:5') };

describe('the nats strategy names the library whose rule applies (lib=)', () => {
  it('parses and writes lib= back only when it is not nats.js', () => {
    for (const lib of ['go', 'java', 'py']) {
      const s = parseStrategy(`nats:ping=5s,maxout=2,lib=${lib}`);
      assert.equal(formatStrategy(s), `nats:ping=5s,maxout=2,wait=2s,attempts=10,lib=${lib}`);
    }
    assert.equal(
      formatStrategy(parseStrategy('nats:ping=5s,maxout=2,lib=js')),
      'nats:ping=5s,maxout=2,wait=2s,attempts=10',
    );
  });

  it("each window names the library's rule; jnats may skip a tick after a delivered message", () => {
    const want = {
      js: ['nats.js', [10_000, 15_000], [10_000, 15_000]],
      go: ['nats.go', [10_000, 15_000], [10_000, 15_000]],
      py: ['nats.py', [10_000, 15_000], [10_000, 15_000]],
      java: ['jnats', [10_000, 15_000], [10_000, 20_000]],
    } as const;
    for (const [lib, [name, quiet, busy]] of Object.entries(want)) {
      const s = parseStrategy(`nats:ping=5s,maxout=2,lib=${lib}`);
      const p = silentPath(s, idle);
      assert.deepEqual(p.window, quiet, lib);
      assert.ok(p.why.startsWith(`${name}: `), `${lib}: ${p.why}`);
      assert.deepEqual(silentPath(s, subscribing).window, busy, `${lib}, subscribing`);
    }
  });

  it("tune searches with the library's rule", () => {
    const req = {
      target: 'nats' as const,
      workload: parseWorkload('subscribe:5'),
      qos: 0 as const,
      withinMs: 10_000,
      tolerateMs: 1000,
      idleTimeoutMs: null,
    };
    const js = tune(req)[0]!;
    const java = tune({ ...req, lib: 'java' })[0]!;
    assert.equal(
      js.strategy && formatStrategy(js.strategy),
      'nats:ping=5s,maxout=1,wait=2s,attempts=-1',
    );
    // jnats: (maxout + 2) ticks at worst while messages arrive, so pings every 3.3 s.
    assert.equal(
      java.strategy && formatStrategy(java.strategy),
      'nats:ping=3300ms,maxout=1,wait=2s,attempts=-1,lib=java',
    );
    assert.deepEqual(java.window, [3300, 9900]);
  });

  it('refuses lib= other than nats.js for the built-in client, and unknown libraries', async () => {
    await assertBadInput(
      () => specOf({ target: 'nats', strategy: 'nats:ping=5s,maxout=1,lib=go' }),
      /lib=go describes your own client \(--client-cmd\); the lab's built-in nats client is nats\.js/,
    );
    // Your own program may carry it.
    specOf({ target: 'nats', strategy: 'nats:ping=5s,maxout=1,lib=go', clientCmd: 'true' });
    await assertBadInput(
      () => parseStrategy('nats:ping=5s,maxout=1,lib=rust'),
      /lib 'rust' is unknown/,
    );
  });
});

describe('tune --emit for the NATS libraries', () => {
  it('writes each library its own code, with the window it states (snapshot)', () => {
    const settings = [
      { s: 'nats:ping=5s,maxout=1,wait=2s,attempts=-1', w: [5000, 10_000] as [number, number] },
      {
        s: 'nats:ping=3300ms,maxout=2,wait=250ms,attempts=10',
        w: [6600, 9900] as [number, number],
      },
    ];
    const text = ['nats.js', 'nats.go', 'jnats', 'nats.py']
      .flatMap((lib) =>
        settings.map(({ s, w }) => `== ${lib} ${s}\n${emit(lib, parseStrategy(s), w)}\n`),
      )
      .join('\n');
    assertSnapshot('emit/nats.snap.txt', text);
    for (const lib of ['nats.js', 'nats.go', 'jnats', 'nats.py'])
      assert.ok(EMITTERS.get(lib)!.source.length > 0, `${lib} names its options' docs`);
  });

  it('refuses a library the target has no strategy for, and --verify of a library the lab does not run', async () => {
    const signal = new AbortController().signal;
    await assertBadInput(
      () => tuneCommand(tuneFlags({ target: 'mqtt', within: '10s', emit: 'nats.go' }), signal),
      /--emit nats\.go writes nats settings; the mqtt client's strategies are/,
    );
    await assertBadInput(
      () =>
        tuneCommand(
          tuneFlags({ target: 'nats', within: '10s', emit: 'nats.go', verify: true }),
          signal,
        ),
      /--verify measures the lab's built-in client, not nats\.go/,
    );
  });
});

describe(
  "the emitted nats.go options, compiled and run as your own client: inside nats.go's window",
  { skip: netnsSkip || goSkip('github.com/nats-io/nats.go'), concurrency: 2 },
  () => {
    let client: BuiltClient | null = null;
    before(async () => {
      client = await emitAndBuild(
        ['--target', 'nats', '--within', '10s', '--emit', 'nats.go'],
        'nats_go_client.go.tmpl',
      );
      // nats.go's rule: stale on the second 5 s tick after the silence, pinned.
      assert.equal(client.strategy, 'nats:ping=5s,maxout=1,wait=2s,attempts=-1,lib=go');
      assert.deepEqual(client.predicted_ms, [5000, 10_000]);
    });
    after(() => {
      if (client) rmSync(client.dir, { recursive: true, force: true });
    });

    for (const fault of ['partition', 'node-loss']) {
      it(`${fault}: detected inside (5 s, 10 s]`, async () => {
        const { res, what } = await runOwn(client!, [
          '--target',
          'nats',
          '--detect-log',
          'disconnected',
          '--workload',
          'publish:5',
          '--fault',
          fault,
          '--deadline',
          '15s',
        ]);
        assert.deepEqual(res.predicted_ms, [5000, 10_000], what);
        assert.equal(res.verdict, 'inside', what);
        assert.ok((res.sent ?? 0) > 5, `it printed "sent <seq>": ${what}`);
      });
    }
  },
);
