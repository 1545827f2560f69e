/**
 * `tune --emit` for grpc-js, grpc-go, grpc-java and ws, and `grpc:...,lib=`: grpc-go and
 * grpc-java raise a keepalive Time below 10 s to 10 s, and data they read resets their timer.
 * The rules are checked in-process; the emitted grpc-go code is compiled against Debian's
 * golang-google-grpc-dev and run through the lab (a partition and a node loss).
 *
 * Tolerances: the lab's verdict allows 25 ms + 1 % and its own measured timer lateness; the
 * window holds the kernel's retransmission steps (src/strategies/user-timeout.ts).
 */
import { strict as assert } from 'node:assert';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tune } from '../src/advise/tune.js';
import { emit, emitterFor, EMITTERS } from '../src/emit/index.js';
import { parseWorkload } from '../src/core/workload.js';
import { formatStrategy, parseStrategy, silentPath } from '../src/strategies/index.js';
import { assertBadInput, assertSnapshot, netnsSkip, specOf } from './helpers.js';
import { emitAndBuild, goSkip, runOwn, type BuiltClient } from './emit-go.js';

const windowOf = (spec: string, workload: string) =>
  silentPath(parseStrategy(spec), { workload: parseWorkload(workload), sysctls: {}, qos: 0 })
    .window;

describe('grpc lib= and the gRPC and ws emitters', () => {
  it('parses and formats lib= (shown only when not grpc-js)', async () => {
    for (const [text, want] of [
      ['grpc:time=12s,timeout=2s', 'grpc:time=12s,timeout=2s,without-calls=false'],
      ['grpc:time=12s,timeout=2s,lib=js', 'grpc:time=12s,timeout=2s,without-calls=false'],
      ['grpc:time=12s,timeout=2s,lib=go', 'grpc:time=12s,timeout=2s,without-calls=false,lib=go'],
      [
        'grpc:lib=java,time=12s,timeout=2s,without-calls=true',
        'grpc:time=12s,timeout=2s,without-calls=true,lib=java',
      ],
    ]) {
      assert.equal(formatStrategy(parseStrategy(text!)), want, text);
      assert.equal(formatStrategy(parseStrategy(want!)), want);
    }
    await assertBadInput(
      () => parseStrategy('grpc:time=12s,timeout=2s,lib=rust'),
      /lib 'rust' is unknown \(expected one of: js, go, java\)/,
    );
    await assertBadInput(
      () => specOf({ target: 'grpc', strategy: 'grpc:time=12s,timeout=2s,lib=go' }),
      /lib=go is the rule of your own client's library/,
    );
  });

  it('grpc-go and grpc-java: Time at least 10 s, a read resets it, TCP_USER_TIMEOUT = timeout', () => {
    // grpc-js takes 2 s as it is.
    assert.deepEqual(windowOf('grpc:time=2s,timeout=1s', 'publish:10'), [1000, 3000]);
    for (const lib of ['go', 'java']) {
      const spec = `grpc:time=2s,timeout=1s,without-calls=true,lib=${lib}`;
      assert.deepEqual(windowOf(spec, 'idle'), [1000, 11_000], lib);
      const why = silentPath(parseStrategy(spec), {
        workload: parseWorkload('idle'),
        sysctls: {},
        qos: 0,
      }).why;
      assert.match(why, new RegExp(`^grpc-${lib}: .*raised to its minimum 10s`), why);
      // A server streaming 10 messages a second: the ping goes out Time after the last one.
      assert.deepEqual(
        windowOf(`grpc:time=12s,timeout=1s,lib=${lib}`, 'subscribe:10'),
        [12_900, 13_000],
      );
    }
    assert.deepEqual(windowOf('grpc:time=12s,timeout=1s', 'subscribe:10'), [1000, 13_000]);
    // Publishing: the kernel's TCP_USER_TIMEOUT (1 s from the first retransmission) ends it for
    // grpc-go; grpc-java sets it only on the epoll transport, so the ping path's end stays.
    assert.deepEqual(windowOf('grpc:time=12s,timeout=1s,lib=go', 'publish:10'), [1000, 1530]);
    assert.deepEqual(windowOf('grpc:time=12s,timeout=1s,lib=java', 'publish:10'), [1000, 13_000]);
  });

  it("tune searches with the emitting library's rule: no grpc-go setting within 10 s", () => {
    const req = {
      target: 'grpc' as const,
      workload: parseWorkload('publish:10'),
      qos: 0 as const,
      withinMs: 10_000,
      tolerateMs: 1000,
      idleTimeoutMs: null,
    };
    const pick = (library: string, withinMs = 10_000, workload = 'publish:10') =>
      tune({
        ...req,
        workload: parseWorkload(workload),
        withinMs,
        lib: emitterFor(library).lib,
      }).find((r) => r.kind === 'grpc')!;
    assert.equal(
      formatStrategy(pick('grpc-js').strategy!),
      'grpc:time=9s,timeout=1s,without-calls=true',
    );
    for (const library of ['grpc-go', 'grpc-java']) {
      // Idle, only the ping path: Time raised to 10 s + timeout is too late.
      const r = pick(library, 10_000, 'idle');
      assert.equal(r.strategy, null, library);
      assert.match(r.why, /would notice only by 11s: .*Time is at least 10s/, library);
      assert.equal(
        formatStrategy(pick(library, 15_000, 'idle').strategy!),
        `grpc:time=14s,timeout=1s,without-calls=true,lib=${library.slice(5)}`,
      );
    }
    // Publishing, grpc-go's TCP_USER_TIMEOUT notices in time even at Time 10 s.
    const go = pick('grpc-go');
    assert.equal(
      formatStrategy(go.strategy!),
      'grpc:time=10s,timeout=1s,without-calls=true,lib=go',
    );
    assert.deepEqual(go.window, [1000, 1530]);
    assert.equal(pick('grpc-java').strategy, null);
  });

  it('writes each library its own code (snapshot)', () => {
    const text = [
      ...['grpc:time=14s,timeout=1s,without-calls=true', 'grpc:time=2500ms,timeout=500ms'].flatMap(
        (spec) =>
          [...EMITTERS.values()]
            .filter((e) => e.kinds.includes('grpc'))
            .map((e) => `=== ${e.library} ${spec}\n${emit(e.library, parseStrategy(spec))}`),
      ),
      `=== ws ws:ping=4s,timeout=1s\n${emit('ws', parseStrategy('ws:ping=4s,timeout=1s'))}`,
    ].join('\n');
    assertSnapshot('emit/grpc-ws.txt', text);
  });
});

describe(
  'grpc-go from the emitted code, through the lab',
  { skip: netnsSkip || goSkip('google.golang.org/grpc/keepalive'), concurrency: 2 },
  () => {
    let client: BuiltClient | null = null;
    before(async () => {
      client = await emitAndBuild(
        ['--target', 'grpc', '--workload', 'publish:10', '--within', '10s', '--emit', 'grpc-go'],
        'grpc_client.go',
      );
      // grpc-go's rule, pinned: Time raised to 10 s, and TCP_USER_TIMEOUT 1 s while publishing.
      assert.equal(client.strategy, 'grpc:time=10s,timeout=1s,without-calls=true,lib=go');
      assert.deepEqual(client.predicted_ms, [1000, 1530]);
    });
    after(() => {
      if (client) rmSync(client.dir, { recursive: true, force: true });
    });

    for (const fault of ['partition', 'node-loss']) {
      it(`${fault}: noticed inside grpc-go's window`, async () => {
        const { res, what } = await runOwn(client!, [
          '--target',
          'grpc',
          '--detect-log',
          'connection lost',
          '--workload',
          'publish:10',
          '--fault',
          fault,
        ]);
        assert.deepEqual(res.predicted_ms, [1000, 1530], what);
        assert.equal(res.verdict, 'inside', what);
        assert.ok((res.sent ?? 0) >= 5, `it sent and said so ("sent <seq>"): ${what}`);
      });
    }
  },
);
