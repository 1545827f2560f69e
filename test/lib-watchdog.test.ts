/**
 * The library's heartbeat watchdog, tested by the lab: your own client (test/fixtures/lib-client)
 * built with wsWatchdog, h2Watchdog or socketWatchdog, run with --client-cmd through a partition
 * on the netns testbed, must notice inside the window its strategy predicts (the verdict uses the
 * lab's own tolerance for a loaded machine).
 */
import { strict as assert } from 'node:assert';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { watchdog } from '../src/lib/index.js';
import { describeResult, measure, netnsSkip, specOf, waitFor } from './helpers.js';

const CLIENT = fileURLToPath(new URL('./fixtures/lib-client.js', import.meta.url));
const cmd = (intervalMs: number, timeoutMs: number): string =>
  `HALFOPEN_HB_INTERVAL=${intervalMs} HALFOPEN_HB_TIMEOUT=${timeoutMs} node ${CLIENT}`;

describe(
  'watchdog clients through a partition (netns)',
  { skip: netnsSkip, concurrency: 3 },
  () => {
    for (const [target, strategy] of [
      ['ws', 'ws:ping=1s,timeout=1s,side=client'],
      ['h2', 'h2:ping=1s,timeout=1s'],
      ['tcp', 'heartbeat:interval=1s,timeout=1s'],
    ] as const) {
      it(`${target}: the watchdog notices the silent peer inside ${strategy}'s window`, async () => {
        const r = await measure(
          specOf({
            target,
            clientCmd: cmd(1000, 1000),
            detectLog: '^dead: ',
            strategy,
            fault: 'partition',
            deadlineMs: 5000,
          }),
        );
        assert.deepEqual(r.predicted_ms, [1000, 2000]);
        assert.equal(r.verdict, 'inside', describeResult(r));
      });
    }
  },
);

describe('watchdog in-process', () => {
  it('a peer that answers stays alive; one that stops is dead after the timeout', async () => {
    // A real echo server: what the client writes comes back (the pong).
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let answering = true;
    let pings = 0;
    let dead: string | null = null;
    const dog = watchdog({
      interval: 50,
      timeout: '200ms',
      ping: () => {
        pings++;
        if (answering) sock.write('p');
      },
      onDead: (why) => (dead = why),
    });
    sock.on('data', () => dog.alive());
    await waitFor(() => pings >= 10, 5000, 'ten pings answered');
    assert.equal(dead, null, 'an answering peer is alive');
    answering = false;
    const silentAt = performance.now();
    await waitFor(() => dead !== null, 5000, 'dead after the timeout');
    const took = performance.now() - silentAt;
    // (timeout, interval + timeout] = (200, 250] ms, with 500 ms for a loaded 2-core machine.
    assert.ok(took > 150 && took < 750, `dead after ${took} ms`);
    assert.match(dead ?? '', /no answer to a ping within 0.2s/);
    dog.stop();
    sock.destroy();
    server.close();
  });

  it('a ping that could not go (not connected yet) is not waited for', async () => {
    let pings = 0;
    let dead = false;
    const dog = watchdog({
      interval: 20,
      timeout: 40,
      ping: () => (pings++, false),
      onDead: () => (dead = true),
    });
    await waitFor(() => pings >= 10, 5000, 'ten tries');
    assert.equal(dead, false);
    dog.stop();
  });
});
