/**
 * `tune --emit` for the MQTT libraries, and `mqtt:...,lib=`: each library's rule gives its own
 * window, the built-in client (MQTT.js) refuses another's, and a real paho-mqtt client built from
 * the emitted code is noticed inside paho's window through a partition and a node loss.
 *
 * Tolerances: the lab's verdict allows 25 ms + 1 % and its own measured timer lateness; paho's
 * window already holds its network loop's 1 s select() twice (src/strategies/mqtt-libs.ts).
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { tune } from '../src/advise/tune.js';
import { emit, emitterFor, EMITTERS } from '../src/emit/index.js';
import { tuneCommand } from '../src/cli/tune.js';
import { parseWorkload } from '../src/core/workload.js';
import { formatStrategy, parseStrategy, silentPath } from '../src/strategies/index.js';
import { assertBadInput, assertSnapshot, netnsSkip, runCli, specOf, tuneFlags } from './helpers.js';
import { runOwn, type BuiltClient } from './emit-go.js';

const PY = '/usr/bin/python3';
const TEMPLATE = fileURLToPath(new URL('../../test/fixtures/emit/paho_client.py', import.meta.url));
const pahoSkip =
  spawnSync(PY, ['-c', 'import paho.mqtt'], { stdio: 'ignore' }).status === 0
    ? false
    : 'needs python3-paho-mqtt (scripts/setup.sh --test installs it)';

const ctx = (workload: string, qos: 0 | 1 = 0) => ({
  workload: parseWorkload(workload),
  sysctls: {},
  qos,
});
const windowOf = (spec: string, workload: string, qos: 0 | 1 = 0) =>
  silentPath(parseStrategy(spec), ctx(workload, qos)).window;

describe('mqtt lib=: each library its own rule', () => {
  it('parses and formats lib= (shown only when not MQTT.js) and paho-go pingtimeout=', () => {
    const cases: [string, string][] = [
      ['mqtt:keepalive=4s', 'mqtt:keepalive=4s,reconnect=1s'],
      ['mqtt:keepalive=4s,lib=js', 'mqtt:keepalive=4s,reconnect=1s'],
      ['mqtt:keepalive=4s,lib=paho', 'mqtt:keepalive=4s,reconnect=1s,lib=paho'],
      [
        'mqtt:keepalive=4s,lib=paho-go',
        'mqtt:keepalive=4s,reconnect=1s,lib=paho-go,pingtimeout=10s',
      ],
      [
        'mqtt:keepalive=8s,lib=paho-go,pingtimeout=3s,reconnect=2s',
        'mqtt:keepalive=8s,reconnect=2s,lib=paho-go,pingtimeout=3s',
      ],
      ['mqtt:keepalive=4s,lib=paho-java', 'mqtt:keepalive=4s,reconnect=1s,lib=paho-java'],
    ];
    for (const [text, want] of cases) {
      assert.equal(formatStrategy(parseStrategy(text)), want, text);
      assert.equal(formatStrategy(parseStrategy(want)), want, `${want} round-trips`);
    }
  });

  it('the same keepalive gives each library its own window, naming it', () => {
    // MQTT.js: 1.5 K after the last PUBACK (a QoS 1 publisher at 5/s) or PINGRESP.
    assert.deepEqual(windowOf('mqtt:keepalive=4s', 'publish:5', 1), [5800, 6000]);
    assert.deepEqual(windowOf('mqtt:keepalive=4s', 'idle'), [2000, 6000]);
    // paho-mqtt (Python): a ping every K whatever the traffic, closed K after the unanswered
    // one, each up to a 1 s loop pass late.
    assert.deepEqual(windowOf('mqtt:keepalive=4s,lib=paho', 'publish:5', 1), [4000, 10_000]);
    assert.deepEqual(windowOf('mqtt:keepalive=4s,lib=paho', 'idle'), [4000, 10_000]);
    // paho.mqtt.golang: checks every K/4 = 1 s; PingTimeout 2 s ends on the 3rd check after
    // the ping (pingSent is stamped just after its tick).
    assert.deepEqual(
      windowOf('mqtt:keepalive=4s,lib=paho-go,pingtimeout=2s', 'publish:5', 1),
      [6800, 8000],
    );
    assert.deepEqual(
      windowOf('mqtt:keepalive=4s,lib=paho-go,pingtimeout=2s', 'idle'),
      [3000, 8000],
    );
    // Above 10 s the Go client checks every 5 s.
    assert.deepEqual(windowOf('mqtt:keepalive=20s,lib=paho-go', 'idle'), [15_000, 40_000]);
    // Paho Java: checks about every K after its last send; ping, then timeout a check later.
    assert.deepEqual(windowOf('mqtt:keepalive=4s,lib=paho-java', 'publish:5', 1), [7800, 12_000]);
    assert.deepEqual(windowOf('mqtt:keepalive=4s,lib=paho-java', 'idle'), [4000, 8000]);
    for (const [lib, name] of [
      ['', 'MQTT.js'],
      [',lib=paho', 'paho-mqtt (Python)'],
      [',lib=paho-go', 'paho.mqtt.golang'],
      [',lib=paho-java', 'Eclipse Paho Java'],
    ] as const) {
      const p = silentPath(parseStrategy(`mqtt:keepalive=4s${lib}`), ctx('idle'));
      assert.ok(p.why.startsWith(`${name}:`), `${lib || 'default'} names ${name}: ${p.why}`);
      const off = silentPath(parseStrategy(`mqtt:keepalive=0s${lib}`), ctx('idle'));
      assert.equal(off.window, null);
      assert.ok(off.why.startsWith(`${name}:`), off.why);
    }
  });

  it('refuses a bad lib=, pingtimeout= without paho-go, and another library on the built-in client', async () => {
    await assertBadInput(
      () => parseStrategy('mqtt:keepalive=4s,lib=hivemq'),
      /lib 'hivemq' is unknown \(expected one of: js, paho, paho-go, paho-java\)/,
    );
    await assertBadInput(
      () => parseStrategy('mqtt:keepalive=4s,lib=paho,pingtimeout=2s'),
      /pingtimeout is paho.mqtt.golang's PingTimeout \(lib=paho-go\); lib=paho has none/,
    );
    await assertBadInput(
      () => parseStrategy('mqtt:keepalive=4s,pingtimeout=2s'),
      /MQTT.js has none/,
    );
    await assertBadInput(
      () => specOf({ target: 'mqtt', strategy: 'mqtt:keepalive=4s,lib=paho' }),
      /lib=paho is the rule of your own client's library \(--client-cmd\); the lab's built-in mqtt client is MQTT.js/,
    );
    // With your own client it is what describes the program.
    const own = specOf({
      target: 'mqtt',
      clientCmd: 'true',
      strategy: 'mqtt:keepalive=4s,lib=paho',
    });
    assert.equal(formatStrategy(own.strategy), 'mqtt:keepalive=4s,reconnect=1s,lib=paho');
    // tune --verify measures the built-in client: it cannot check paho's rule.
    await assertBadInput(
      () =>
        tuneCommand(
          tuneFlags({ target: 'mqtt', within: '10s', emit: 'paho-python', verify: true }),
          new AbortController().signal,
        ),
      /--verify measures the lab's built-in client, not paho-python/,
    );
    await assertBadInput(
      () => emit('paho-go', parseStrategy('nats:ping=2s,maxout=1')),
      /writes mqtt settings, not nats/,
    );
  });

  it("tune searches with the emitting library's rule", () => {
    const req = {
      target: 'mqtt' as const,
      workload: parseWorkload('publish:5'),
      qos: 1 as const,
      withinMs: 10_000,
      tolerateMs: 1000,
      idleTimeoutMs: null,
    };
    const pick = (library: string | undefined) => {
      const r = tune({
        ...req,
        lib: library === undefined ? undefined : emitterFor(library).lib,
      }).find((x) => x.kind === 'mqtt')!;
      return [r.strategy && formatStrategy(r.strategy), r.window];
    };
    assert.deepEqual(pick(undefined), ['mqtt:keepalive=6s,reconnect=1s', [8800, 9000]]);
    assert.deepEqual(pick('mqtt.js'), ['mqtt:keepalive=6s,reconnect=1s', [8800, 9000]]);
    assert.deepEqual(pick('paho-python'), [
      'mqtt:keepalive=4s,reconnect=1s,lib=paho',
      [4000, 10_000],
    ]);
    assert.deepEqual(pick('paho-go'), [
      'mqtt:keepalive=6s,reconnect=1s,lib=paho-go,pingtimeout=1s',
      [7300, 9000],
    ]);
    assert.deepEqual(pick('paho-java'), [
      'mqtt:keepalive=3s,reconnect=1s,lib=paho-java',
      [5800, 9000],
    ]);
  });

  it('writes each library its own code (snapshot)', () => {
    const text = ['mqtt:keepalive=4s', 'mqtt:keepalive=30s,reconnect=2500ms']
      .flatMap((spec) =>
        [...EMITTERS.values()]
          .filter((e) => e.kinds.includes('mqtt'))
          .map((e) => `=== ${e.library} ${spec}\n${emit(e.library, parseStrategy(spec))}`),
      )
      .join('\n');
    assertSnapshot('emit/mqtt.txt', text);
  });
});

describe(
  'paho-mqtt (Python) from the emitted code, through the lab',
  { skip: netnsSkip || pahoSkip, concurrency: 2 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'halfopen-emit-paho-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    let emitted: Promise<{ strategy: string; file: string }> | null = null;
    const build = () =>
      (emitted ??= (async () => {
        const r = await runCli([
          'tune',
          '--target',
          'mqtt',
          '--within',
          '10s',
          '--emit',
          'paho-python',
          '--json',
        ]);
        assert.equal(r.code, 0, r.stderr);
        const out = r.json<{
          emit: { strategy: string; predicted_ms: number[]; code: string }[];
        }>();
        assert.equal(out.emit.length, 1);
        const [e] = out.emit;
        // paho's rule, pinned: keepalive 4 s, noticed within (4 s, 10 s].
        assert.equal(e!.strategy, 'mqtt:keepalive=4s,reconnect=1s,lib=paho');
        assert.deepEqual(e!.predicted_ms, [4000, 10_000]);
        const template = readFileSync(TEMPLATE, 'utf8');
        assert.ok(template.includes('# EMITTED\n'));
        const file = join(dir, 'client.py');
        writeFileSync(file, template.replace('# EMITTED\n', e!.code));
        return { strategy: e!.strategy, file };
      })());

    for (const fault of ['partition', 'node-loss']) {
      it(`${fault}: noticed inside paho's window`, async () => {
        const { strategy, file } = await build();
        const own: BuiltClient = {
          dir,
          binary: `${PY} ${file}`,
          strategy,
          predicted_ms: [4000, 10_000],
        };
        const { res, what } = await runOwn(own, [
          '--target',
          'mqtt',
          '--detect-log',
          'connection lost',
          '--workload',
          'publish:5',
          '--fault',
          fault,
        ]);
        assert.deepEqual(res.predicted_ms, [4000, 10_000], what);
        assert.equal(res.verdict, 'inside', what);
        assert.ok((res.sent ?? 0) >= 5, `it published and said so ("sent <seq>"): ${what}`);
      });
    }
  },
);
