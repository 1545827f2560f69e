/**
 * `tune --emit` for TCP's own timers: node:net and Go's net.Dialer, for keepalive and
 * TCP_USER_TIMEOUT; and the proof: the net.Dialer `tune --emit go-net` prints, compiled into a
 * small Go client of the TCP line protocol (test/fixtures/emit/go_net_client.go.tmpl) against
 * Debian's golang.org/x/sys, run as your own client: a publishing one through a partition and a
 * node loss (TCP_USER_TIMEOUT), an idle one through a partition (keepalive), each detected inside
 * the window the tune printed.
 *
 * Tolerances: the verdict's own allowance (25 ms + 1 % and the lab's measured lateness); nothing
 * else is timed here.
 */
import { strict as assert } from 'node:assert';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { tuneCommand } from '../src/cli/tune.js';
import { emit } from '../src/emit/index.js';
import { parseStrategy } from '../src/strategies/index.js';
import { assertBadInput, assertSnapshot, netnsSkip, tuneFlags } from './helpers.js';
import { emitAndBuild, goSkip, runOwn, type BuiltClient } from './emit-go.js';

describe('tune --emit for node:net and go-net', () => {
  it('writes keepalive and TCP_USER_TIMEOUT in each API, with the window (snapshot)', () => {
    const settings = [
      { s: 'keepalive:idle=7s,interval=1s,count=2', w: [2000, 9320] as [number, number] },
      { s: 'user-timeout:5300ms', w: [5300, 5930] as [number, number] },
    ];
    const text = ['node:net', 'go-net']
      .flatMap((lib) =>
        settings.map(({ s, w }) => `== ${lib} ${s}\n${emit(lib, parseStrategy(s), w)}\n`),
      )
      .join('\n');
    assertSnapshot('emit/tcp.snap.txt', text);
  });

  it('refuses a kind it cannot write', async () => {
    await assertBadInput(
      () => emit('go-net', parseStrategy('heartbeat:interval=1s,timeout=1s')),
      /--emit go-net writes keepalive, user-timeout settings, not heartbeat/,
    );
    await assertBadInput(
      () =>
        tuneCommand(
          tuneFlags({ target: 'nats', within: '10s', emit: 'go-net' }),
          new AbortController().signal,
        ),
      /--emit go-net writes keepalive, user-timeout settings; the nats client's strategies are nats/,
    );
  });
});

describe(
  "the emitted net.Dialer, compiled and run as your own client: inside the tune's window",
  { skip: netnsSkip || goSkip('golang.org/x/sys/unix'), concurrency: 3 },
  () => {
    let publisher: BuiltClient | null = null;
    let idle: BuiltClient | null = null;
    before(async () => {
      publisher = await emitAndBuild(
        ['--target', 'tcp', '--workload', 'publish:5', '--within', '6s', '--emit', 'go-net'],
        'go_net_client.go.tmpl',
      );
      assert.equal(publisher.strategy, 'user-timeout:5300ms');
      assert.deepEqual(publisher.predicted_ms, [5300, 5930]);
      idle = await emitAndBuild(
        ['--target', 'tcp', '--within', '10s', '--emit', 'go-net'],
        'go_net_client.go.tmpl',
      );
      assert.equal(idle.strategy, 'keepalive:idle=7s,interval=1s,count=2');
      assert.deepEqual(idle.predicted_ms, [2000, 9320]);
    });
    after(() => {
      for (const c of [publisher, idle]) if (c) rmSync(c.dir, { recursive: true, force: true });
    });

    const cases = [
      {
        name: 'publishing, partition (TCP_USER_TIMEOUT)',
        client: () => publisher!,
        fault: 'partition',
        workload: 'publish:5',
        deadline: '9s',
      },
      {
        name: 'publishing, node-loss (TCP_USER_TIMEOUT)',
        client: () => publisher!,
        fault: 'node-loss',
        workload: 'publish:5',
        deadline: '9s',
      },
      {
        name: 'idle, partition (keepalive)',
        client: () => idle!,
        fault: 'partition',
        workload: 'idle',
        deadline: '15s',
      },
    ];
    for (const c of cases) {
      it(`${c.name}: detected inside the window`, async () => {
        const client = c.client();
        const { res, what } = await runOwn(client, [
          '--target',
          'tcp',
          '--detect-log',
          'connection lost',
          '--workload',
          c.workload,
          '--fault',
          c.fault,
          '--deadline',
          c.deadline,
        ]);
        assert.deepEqual(res.predicted_ms, client.predicted_ms, what);
        assert.equal(res.verdict, 'inside', what);
      });
    }
  },
);
