/**
 * The proxy testbed as a user without root runs it: `halfopen run --testbed proxy` for TCP, NATS
 * and MQTT, as the unprivileged user `nobody` when the suite runs as root. Tolerances as in
 * strategies.test.ts (150 ms + 5 % of the window's bounds, advise/predict.ts).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { specFromFlags } from '../src/cli/run.js';
import { asNobody, assertBadInput, runCli, runFlags } from './helpers.js';

const root = process.getuid?.() === 0;

/** `halfopen run --testbed proxy ... --json` as nobody (or as this user when not root). */
async function run(args: string[]): Promise<Record<string, unknown>> {
  const r = await runCli(['run', '--testbed', 'proxy', ...args, '--json'], {
    ...(asNobody ? { user: 'nobody' } : {}),
  });
  assert.equal(r.code, 0, r.stderr);
  return r.json();
}

describe(
  'the proxy testbed, without root',
  { skip: root && !asNobody && 'needs runuser to drop root' },
  () => {
    it('blackhole: a heartbeat detects inside its window; keepalive does not, answered by the proxy', async () => {
      const [hb, ka] = await Promise.all([
        run([
          '--fault',
          'partition',
          '--strategy',
          'heartbeat:interval=1s,timeout=2s',
          '--workload',
          'publish:10',
          '--heal',
          '4s',
        ]),
        run([
          '--fault',
          'partition',
          '--strategy',
          'keepalive:idle=1s,interval=1s,count=2',
          '--deadline',
          '8s',
        ]),
      ]);
      assert.equal(hb.verdict, 'inside', JSON.stringify(hb));
      assert.equal(hb.detect_reason, 'heartbeat-timeout');
      assert.equal(hb.testbed, 'proxy');
      assert.notEqual(hb.reconnect_ms, null, 'reconnected after the heal');
      // Keepalive would notice within (2 s, 3 s] on a real path; the proxy's kernel answers it.
      assert.equal(ka.detect_ms, null, JSON.stringify(ka));
      assert.equal(ka.verdict, 'not detected (as predicted)');
      assert.match(String(ka.predicted_why), /proxy's own kernel/);
    });

    it('NATS through a blackhole, and MQTT through a restarted broker', async () => {
      const [nats, mqtt] = await Promise.all([
        run([
          '--target',
          'nats',
          '--strategy',
          'nats:ping=500ms,maxout=2',
          '--workload',
          'publish:10',
          '--fault',
          'partition',
          '--heal',
          '3s',
        ]),
        run([
          '--target',
          'mqtt',
          '--strategy',
          'mqtt:keepalive=2s,reconnect=250ms',
          '--workload',
          'publish:10',
          '--fault',
          'kill',
          '--restart',
          '1s',
        ]),
      ]);
      assert.equal(nats.verdict, 'inside', JSON.stringify(nats));
      assert.deepEqual(nats.predicted_ms, [1000, 1500]);
      assert.notEqual(nats.reconnect_ms, null);
      assert.equal(mqtt.verdict, 'inside', JSON.stringify(mqtt));
      assert.notEqual(mqtt.reconnect_ms, null, 'reconnected to the restarted broker');
    });

    it('proxy-dead-upstream: MQTT keepalive crosses the proxy and notices', async () => {
      const r = await run([
        '--target',
        'mqtt',
        '--strategy',
        'mqtt:keepalive=2s',
        '--workload',
        'publish:10',
        '--fault',
        'proxy-dead-upstream',
      ]);
      assert.equal(r.verdict, 'inside', JSON.stringify(r));
      assert.deepEqual(r.predicted_ms, [1000, 3000]);
    });

    it('latency: a tolerant heartbeat rides it out; a tight one disconnects falsely', async () => {
      // Round trip through the proxy: 2 x latency. 2 x (100 +- 20) ms is far inside a 2 s
      // timeout; 2 x 200 ms is over a 300 ms one, every time.
      const [ok, tight] = await Promise.all([
        run([
          '--fault',
          'latency',
          '--latency',
          '100ms',
          '--jitter',
          '20ms',
          '--strategy',
          'heartbeat:interval=1s,timeout=2s',
          '--workload',
          'publish:10',
          '--deadline',
          '4s',
        ]),
        run([
          '--fault',
          'latency',
          '--latency',
          '200ms',
          '--strategy',
          'heartbeat:interval=500ms,timeout=300ms',
          '--workload',
          'publish:10',
          '--deadline',
          '4s',
        ]),
      ]);
      assert.equal(ok.verdict, 'not detected (as predicted)', JSON.stringify(ok));
      assert.equal(ok.lost, 0, 'a slow path loses nothing');
      assert.equal(tight.verdict, 'detected (predicted never)', JSON.stringify(tight));
      assert.equal(tight.detect_reason, 'heartbeat-timeout');
    });
  },
);

describe('the proxy testbed: bad input', () => {
  it('faults the proxy cannot make: one line naming the netns testbed (exit 2)', async () => {
    await assertBadInput(
      () => specFromFlags(runFlags({ testbed: 'proxy', fault: 'node-loss' })),
      /^fault node-loss is not available on the proxy testbed .* needs --testbed netns/,
    );
  });
});

describe(
  'the proxy testbed without mosquitto',
  { skip: !root && 'needs root to hide mosquitto' },
  () => {
    it('runs MQTT on the embedded aedes broker instead', async () => {
      const r = await runCli(
        [
          'run',
          '--testbed',
          'proxy',
          '--target',
          'mqtt',
          '--strategy',
          'mqtt:keepalive=2s,reconnect=250ms',
          '--workload',
          'publish:10',
          '--fault',
          'kill',
          '--restart',
          '1s',
          '--json',
        ],
        { without: 'mosquitto' },
      );
      assert.equal(r.code, 0, r.stderr);
      const result = r.json();
      assert.match(String(result.target_version), /^aedes \d+\.\d+\.\d+ \(embedded\)$/);
      assert.equal(result.verdict, 'inside', r.stdout);
      assert.notEqual(result.reconnect_ms, null, 'reconnected to the restarted aedes');
    });
  },
);
