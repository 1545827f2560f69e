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
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { tuneCommand } from '../src/cli/tune.js';
import { emit, EMITTERS } from '../src/emit/index.js';
import { tune } from '../src/advise/tune.js';
import { parseWorkload } from '../src/scenario/spec.js';
import { formatStrategy, parseStrategy, silentPath } from '../src/strategies/index.js';
import { assertBadInput, assertSnapshot, netnsSkip, runCli, specOf, tuneFlags } from './helpers.js';

const source = (rel: string): string => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const NATS_GO_SRC = '/usr/share/gocode/src/github.com/nats-io/nats.go';
const goSkip =
  spawnSync('go', ['version']).status === 0 && existsSync(NATS_GO_SRC)
    ? false
    : 'needs go and nats.go (golang-go, golang-github-nats-io-go-nats-dev: scripts/setup.sh --test)';

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
  { skip: netnsSkip || goSkip, concurrency: 2 },
  () => {
    let dir = '';
    let binary = '';
    let strategy = '';
    before(async () => {
      const r = await runCli([
        'tune',
        '--target',
        'nats',
        '--within',
        '10s',
        '--emit',
        'nats.go',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.json<{ emit: { strategy: string; predicted_ms: number[]; code: string }[] }>();
      const [e] = out.emit;
      assert.ok(e, 'one nats.go setting');
      // nats.go's rule: stale on the second tick of 5 s after the silence, pinned.
      assert.equal(e.strategy, 'nats:ping=5s,maxout=1,wait=2s,attempts=-1,lib=go');
      assert.deepEqual(e.predicted_ms, [5000, 10_000]);
      strategy = e.strategy;
      dir = mkdtempSync(join(tmpdir(), 'halfopen-emit-go-'));
      const template = readFileSync(source('test/fixtures/emit/nats_go_client.go.tmpl'), 'utf8');
      const code = e.code
        .split('\n')
        .map((l) => `\t${l}`)
        .join('\n');
      writeFileSync(join(dir, 'main.go'), template.replace('\t// EMITTED', code));
      binary = join(dir, 'client');
      // GOPATH mode against Debian's packaged sources: nothing is downloaded.
      const build = spawnSync('go', ['build', '-o', binary, 'main.go'], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          ...process.env,
          GO111MODULE: 'off',
          GOPATH: '/usr/share/gocode',
          GOCACHE: join(dir, 'cache'),
          GOFLAGS: '',
        },
      });
      assert.equal(build.status, 0, `go build: ${build.stderr}`);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const fault of ['partition', 'node-loss']) {
      it(`${fault}: detected inside (5 s, 10 s]`, async () => {
        const r = await runCli([
          'run',
          '--target',
          'nats',
          '--client-cmd',
          binary,
          '--detect-log',
          'disconnected',
          '--strategy',
          strategy,
          '--workload',
          'publish:5',
          '--fault',
          fault,
          '--deadline',
          '15s',
          '--json',
        ]);
        assert.equal(r.code, 0, r.stderr);
        const res = r.json<{
          verdict: string;
          detect_ms: number | null;
          predicted_ms: number[];
          sent: number | null;
        }>();
        const what = JSON.stringify({ ...res, timeline: undefined, events: undefined });
        assert.deepEqual(res.predicted_ms, [5000, 10_000], what);
        assert.equal(res.verdict, 'inside', what);
        assert.ok((res.sent ?? 0) > 5, `it printed "sent <seq>": ${what}`);
      });
    }
  },
);
