/**
 * Your own client (`halfopen run --client-cmd`): programs not written in TypeScript (a bash
 * one-liner, Python's standard library) measured with detection from the kernel or their log and
 * loss from the sink.
 *
 * Tolerances: kernel detection is polled every 10 ms; a bound on a time allows 400 ms more for
 * the program's own scheduling (bash's sleep, Python's select) on a noisy two-core machine.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { specFromFlags } from '../src/cli/run.js';
import {
  assertBadInput,
  assertOneLine,
  describeResult,
  dirsOf,
  measure,
  namespacesOf,
  netnsSkip,
  runCli,
  runFlags,
  specOf,
} from './helpers.js';

const source = (rel: string): string => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
const NATS_PUBLISHER = source('examples/nats_publisher.py');
const HEARTBEAT = source('test/fixtures/heartbeat_client.py');
const pythonSkip =
  spawnSync('python3', ['--version']).status === 0 ? false : 'needs python3 (npm test installs it)';

/**
 * A bash client of the TCP line protocol: one connection, `MSG <n>` every 100 ms until a write
 * fails (SIGPIPE ignored, so it can say so).
 */
const BASH_CLIENT = `bash -c 'trap "" PIPE; exec 3<>/dev/tcp/$HALFOPEN_HOST/$HALFOPEN_PORT; i=0; while echo "MSG $((i+=1))" >&3; do sleep 0.1; done; echo "write failed after $i"; exit 1'`;

describe(
  'your own client, with detection from the kernel',
  { skip: netnsSkip, concurrency: 4 },
  () => {
    it('a bash one-liner, reset: the kernel drops the connection at the next write', async () => {
      const r = await measure(
        specOf({ clientCmd: BASH_CLIENT, workload: 'publish:10', fault: 'reset' }),
      );
      assert.equal(r.verdict, 'measured (no prediction)');
      assert.equal(r.strategy, 'unknown (your program)');
      assert.equal(r.detect_reason, 'ESTABLISHED->gone', describeResult(r));
      assert.ok(r.detect_ms! < 100 + 400, `the next write within 100 ms: ${describeResult(r)}`);
      assert.equal(r.lost_from, 'gaps', 'it prints no "sent <seq>": loss is counted from gaps');
      assert.ok(r.received >= 5, `the TCP server counted its messages: ${describeResult(r)}`);
      assert.ok(
        r.timeline.some((e) => e.src === 'client' && e.type === 'exited'),
        'it exited when its write failed; the run ended with it',
      );
    });

    it('a bash one-liner, kill: FIN from the killed server, seen as CLOSE_WAIT before the program notices', async () => {
      const r = await measure(
        specOf({
          clientCmd: BASH_CLIENT,
          detectLog: 'write failed',
          workload: 'publish:10',
          fault: 'kill',
        }),
      );
      // The FIN leaves the socket in CLOSE_WAIT; a write within the 10 ms before the next poll
      // draws the dead peer's RST, and the socket is gone instead.
      assert.match(r.detect_reason ?? '', /^ESTABLISHED->(CLOSE_WAIT|gone)$/, describeResult(r));
      assert.ok(r.detect_ms! < 250 + 400, describeResult(r));
      assert.ok(
        r.events.some((e) => e.name === 'also detected (log)' && e.at_ms > r.detect_ms!),
        `its own "write failed" came later: ${JSON.stringify(r.events)}`,
      );
    });

    it(
      'Python through an IPv6 socket to the IPv4 target (as Java does): the kernel still sees it',
      { skip: pythonSkip },
      async () => {
        const r = await measure(
          specOf({
            clientCmd: `python3 ${source('test/fixtures/v6_client.py')}`,
            workload: 'publish:10',
            fault: 'reset',
          }),
        );
        assert.equal(r.detect_reason, 'ESTABLISHED->gone', describeResult(r));
        assert.ok(
          (r.wire['reset:0'] ?? 0) >= 1,
          'the fault found the flow (ss lists it as ::ffff:)',
        );
        assert.equal(r.lost_from, 'accepted');
        assert.ok(r.sent! >= 5 && r.lost <= 2, describeResult(r));
      },
    );

    it(
      'Python (stdlib) heartbeat that keeps its socket: only --detect-log sees it, inside the declared window',
      { skip: pythonSkip },
      async () => {
        const r = await measure(
          specOf({
            clientCmd: `python3 ${HEARTBEAT}`,
            strategy: 'heartbeat:interval=500ms,timeout=500ms',
            detectLog: '^heartbeat timeout$',
            workload: 'publish:10',
            fault: 'partition',
            deadlineMs: 4000,
          }),
        );
        assert.deepEqual(r.predicted_ms, [500, 1000]);
        assert.equal(r.verdict, 'inside', describeResult(r));
        assert.equal(r.detect_reason, 'heartbeat timeout');
      },
    );

    it(
      'Python (stdlib) NATS publisher with TCP_USER_TIMEOUT 3 s, partition healed at 6 s: detection, loss from the sink, reconnect',
      { skip: pythonSkip },
      async () => {
        const r = await measure(
          specOf({
            target: 'nats',
            clientCmd: `python3 ${NATS_PUBLISHER}`,
            strategy: 'user-timeout:3s',
            workload: 'publish:10',
            fault: 'partition',
            healMs: 6000,
            deadlineMs: 12_000,
          }),
        );
        assert.equal(r.verdict, 'inside', describeResult(r));
        assert.equal(r.detect_reason, 'ESTABLISHED->gone', 'the kernel aborted the connection');
        assert.equal(r.lost_from, 'accepted', 'it prints "sent <seq>": counted exactly');
        // What the kernel accepted into the silence died with the aborted connection: the sink
        // never got it (one message either way for the instant the drop went in).
        assert.ok(r.stale_sent! >= 25, describeResult(r));
        assert.ok(Math.abs(r.lost - r.stale_sent!) <= 2, describeResult(r));
        assert.ok(r.reconnect_ms !== null, `it reconnected after the heal: ${describeResult(r)}`);
        assert.ok(
          r.timeline.some((e) => e.src === 'client' && e.type === 'log'),
          'its output is kept',
        );
      },
    );
  },
);

describe('your own client in a matrix', { skip: netnsSkip }, () => {
  it('a scenario client with a command: a row with its command and no prediction', async () => {
    const file = [
      'clients:',
      `  - target: tcp`,
      `    command: ${JSON.stringify(BASH_CLIENT)}`,
      'workloads: [publish:10]',
      'faults: [reset]',
      'deadline: 5s',
    ].join('\n');
    const r = await runCli(['matrix', 'own.yaml', '--parallel', '4', '--out', 'out'], {
      files: { 'own.yaml': file },
    });
    assert.equal(r.code, 0, r.stderr);
    const row = r.stdout.split('\n').find((l) => l.startsWith('reset'));
    assert.match(row ?? '', /unknown \(bash -c 'trap "" PIPE; exec 3<>\/dev\/tcp…\)/, r.stdout);
    assert.match(row ?? '', /\s-\s+measured \(no prediction\)/, r.stdout);
  });
});

describe('your own client on the proxy testbed', { concurrency: 2 }, () => {
  it('what the command leaves running is killed with it (no namespace to sweep here)', async () => {
    const marker = `sleep ${900 + Math.floor(Math.random() * 99)}.${process.pid}`;
    const r = await measure(
      specOf({
        testbed: 'proxy',
        clientCmd: `${marker} & ${BASH_CLIENT}`,
        workload: 'publish:10',
        fault: 'reset',
      }),
    );
    assert.ok(r.received > 0, describeResult(r));
    const left = spawnSync('pgrep', ['-f', marker], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '', `the background ${marker} outlived the run`);
  });

  it(
    "Python NATS publisher, TCP_USER_TIMEOUT through the proxy's blackhole: never notices",
    { skip: pythonSkip },
    async () => {
      const r = await measure(
        specOf({
          testbed: 'proxy',
          target: 'nats',
          clientCmd: `python3 ${NATS_PUBLISHER}`,
          strategy: 'user-timeout:3s',
          workload: 'publish:10',
          fault: 'partition',
          deadlineMs: 5000,
        }),
      );
      assert.equal(r.verdict, 'not detected (as predicted)', describeResult(r));
      assert.ok(r.lost >= 30, `accepted by the proxy's kernel, lost: ${describeResult(r)}`);
    },
  );
});

describe('your own client: bad input and failures', () => {
  it('--detect-log without --client-cmd, a bad regex, --preset with it: one line (exit 2)', async () => {
    for (const [flags, re] of [
      [{ detectLog: 'x' }, /--detect-log applies to --client-cmd only/],
      [{ clientCmd: 'true', detectLog: '(' }, /--detect-log '\(' is not a regular expression/],
      [{ clientCmd: 'true', preset: 'seed' }, /describe yours with --strategy/],
      [{ clientCmd: '  ' }, /--client-cmd is empty/],
      [{ clientCmd: 'true', strategy: 'mqtt:keepalive=1s' }, /does not apply to target tcp/],
    ] as const) {
      await assertBadInput(
        () => specFromFlags(runFlags({ fault: 'reset', ...flags })),
        re,
        JSON.stringify(flags),
      );
    }
  });

  it(
    'a program that exits before it connects: one line with its stderr, exit 1, nothing left',
    { skip: netnsSkip },
    async () => {
      const r = await runCli([
        'run',
        '--fault',
        'reset',
        '--client-cmd',
        'echo "no route to anywhere" >&2; exit 3',
      ]);
      assertOneLine(
        r,
        1,
        /^halfopen: the client exited \(3\) before it was ready: no route to anywhere$/,
      );
      assert.deepEqual(await namespacesOf(r.pid), []);
      assert.deepEqual(dirsOf(r.pid), []);
    },
  );
});
