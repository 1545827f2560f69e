/**
 * What each fault puts on the wire, seen by a plain socket (no strategy, no reconnect) in the
 * client namespace talking to the built-in TCP target through the router.
 *
 * Timing tolerances: "at once" means within 2 s (measured: a few ms; the bound absorbs a loaded
 * two-core CI machine). "Silence" means nothing at all arrives in 2 s, which a FIN or RST would
 * break by ~2000 ms: checked by polling throughout the window (`assertStays`), so the test fails
 * the moment one does. The other fixed waits are the scenario itself (a send 0.5 s after T0, an
 * idle period longer than the middlebox's timeout), not waits for something to be ready.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { FAULT_DEFS } from '../src/faults/index.js';
import { PROTOCOLS } from '../src/protocols/index.js';
import { NetnsTestbed } from '../src/testbeds/netns/topology.js';
import type { LabProcess } from '../src/core/process.js';
import type { FaultName, IdleTimeout } from '../src/scenario/spec.js';
import { Timeline } from '../src/runner/timeline.js';
import { sleep } from '../src/util/clock.js';
import { onLines } from '../src/util/lines.js';
import { Teardowns } from '../src/util/teardown.js';
import {
  assertNoLabNamespaces,
  assertStays,
  labIds,
  netnsSkip,
  PROBE,
  waitFor,
} from './helpers.js';

interface ProbeEvent {
  type: 'connected' | 'data' | 'end' | 'error' | 'close' | 'sent' | 'send_error';
  code?: string;
  local?: { address: string; port: number };
  remote?: { address: string; port: number };
}

class Probe {
  readonly events: ProbeEvent[] = [];
  private wake: (() => void) | null = null;
  constructor(readonly proc: LabProcess) {
    onLines(proc.stdout, (line) => {
      this.events.push(JSON.parse(line) as ProbeEvent);
      this.wake?.();
    });
  }
  send(): void {
    this.proc.stdin.write('send\n');
  }
  async waitFor(pred: (e: ProbeEvent) => boolean, ms: number): Promise<ProbeEvent | undefined> {
    const until = Date.now() + ms;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit || Date.now() >= until) return hit;
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
  }
  /** Anything that tells the application the connection is gone. */
  failure(): ProbeEvent | undefined {
    return this.events.find((e) => e.type === 'end' || e.type === 'error' || e.type === 'close');
  }
}

async function withFault(
  fault: FaultName,
  body: (p: Probe, heal: () => Promise<void>, recv: () => number) => Promise<void>,
  middlebox?: IdleTimeout,
): Promise<void> {
  const teardowns = new Teardowns();
  const ids = labIds();
  try {
    const impl = FAULT_DEFS[fault].testbeds.netns;
    assert.ok(impl, `${fault} has a netns implementation`);
    const spec = {
      testbed: 'netns' as const,
      target: 'tcp' as const,
      strategy: { kind: 'none' as const },
      workload: { kind: 'idle' as const },
      healMs: null,
      restartMs: null,
      ...(middlebox ? { idleTimeout: middlebox } : {}),
      qos: 0 as const,
      deadlineMs: 10_000,
      warmupMs: 0,
      sysctls: {},
    };
    const bed = await NetnsTestbed.create(
      { ...ids, clientSysctls: {}, targetPort: PROTOCOLS.tcp.target.port, fault: impl, spec },
      teardowns,
    );
    const port = PROTOCOLS.tcp.target.port;
    const target = bed.spawn(
      'server',
      PROTOCOLS.tcp.target.launch({
        host: bed.addr.server,
        port,
        dir: '',
        strategy: { kind: 'none' },
        workload: { kind: 'idle' },
        firstSeq: 1,
      }).argv,
      'target',
    );
    const tl = new Timeline();
    tl.attach('target', target);
    assert.ok(await tl.waitFor((e) => e.type === 'listening', 10_000), 'target listening');
    const probe = new Probe(
      bed.spawn('client', [process.execPath, PROBE, bed.addr.server, String(port)], 'probe'),
    );
    const c = await probe.waitFor((e) => e.type === 'connected', 10_000);
    assert.ok(c?.local && c.remote, 'probe connected');
    probe.send();
    assert.ok(
      await tl.waitFor((e) => e.type === 'recv', 5000),
      'a message crosses before the fault',
    );
    const bound = await bed.bindFault({
      spec,
      target: () => target,
      mark: (e) => void tl.mark(e),
    });
    assert.deepEqual(bound.flow, { client: c.local, server: c.remote }, 'the fault hits the probe');
    await bound.apply();
    const heal = async (): Promise<void> => bound.heal?.();
    await body(probe, heal, () => tl.entries.filter((e) => e.type === 'recv').length);
  } finally {
    assert.deepEqual(await teardowns.runAll(), []);
    await assertNoLabNamespaces(ids.runId);
  }
}

describe('faults on the wire (netns, plain socket)', { skip: netnsSkip, concurrency: 3 }, () => {
  it('graceful: EOF (FIN) at once', async () => {
    await withFault('graceful', async (p) => {
      const f = await p.waitFor((e) => e.type === 'end' || e.type === 'error', 2000);
      assert.equal(f?.type, 'end', `expected EOF, got ${JSON.stringify(f)}`);
    });
  });

  it('kill: EOF or ECONNRESET at once', async () => {
    await withFault('kill', async (p) => {
      const f = await p.waitFor((e) => e.type === 'end' || e.type === 'error', 2000);
      assert.ok(
        f && (f.type === 'end' || f.code === 'ECONNRESET'),
        `expected EOF or ECONNRESET, got ${JSON.stringify(f)}`,
      );
    });
  });

  it('partition: silence both ways, even after a send; heal lets the retransmission through', async () => {
    await withFault('partition', async (p, heal, recv) => {
      await assertStays(
        () => p.failure() === undefined,
        2000,
        'nothing may arrive while partitioned',
      );
      const before = recv();
      p.send();
      await assertStays(
        () => {
          assert.equal(p.failure(), undefined, 'a send into a partition gets no answer');
          assert.equal(recv(), before, 'the sink receives nothing while partitioned');
        },
        2000,
        'silence after a send',
      );
      await heal();
      // After heal the kernel's next retransmission (RTO backoff: within ~2 s here) delivers it.
      await waitFor(() => recv() > before, 6000, 'the message arrives after heal');
      assert.equal(recv(), before + 1, 'the message arrives after heal, once');
      assert.equal(p.failure(), undefined, 'the connection survives the partition');
    });
  });

  it('node-loss: silence, even after a send', async () => {
    await withFault('node-loss', async (p) => {
      await assertStays(
        () => p.failure() === undefined,
        2000,
        "the dead target's FIN must not reach the client",
      );
      p.send();
      await assertStays(() => p.failure() === undefined, 2000, 'no answer from a lost node');
    });
  });

  const rstFaults: [Exclude<FaultName, 'latency'>, string][] = [
    ['reset', 'the router'],
    ['ip-reuse', 'the fresh host'],
  ];
  for (const [fault, who] of rstFaults) {
    it(`${fault}: nothing until the client sends, then ECONNRESET from ${who}`, async () => {
      await withFault(fault, async (p) => {
        await assertStays(() => p.failure() === undefined, 1000, 'an idle flow hears nothing');
        p.send();
        const f = await p.waitFor((e) => e.type === 'error' || e.type === 'end', 2000);
        assert.equal(f?.code, 'ECONNRESET', `expected ECONNRESET, got ${JSON.stringify(f)}`);
      });
    });
  }

  it('idle-timeout (drop): traffic keeps the flow; after 1 s of silence a send vanishes, and nothing tells the client', async () => {
    await withFault(
      'idle-timeout',
      async (p, _heal, recv) => {
        await sleep(500);
        p.send();
        await waitFor(
          () => recv() >= 2,
          1000,
          'a message 0.5 s after T0 crosses: the flow is still known',
        );
        assert.equal(recv(), 2, 'a message 0.5 s after T0 crosses: the flow is still known');
        // Idle for 1.5 s: longer than the 1 s timeout.
        await sleep(1500);
        p.send();
        await assertStays(
          () => {
            assert.equal(
              recv(),
              2,
              'after 1 s idle the router forgot the flow: the message vanished',
            );
            assert.equal(p.failure(), undefined, 'and nothing came back');
          },
          2000,
          'silence after the flow was forgotten',
        );
      },
      { ms: 1000, onExpiry: 'drop' },
    );
  });

  it('idle-timeout (reset): an idle flow hears nothing; its next send draws ECONNRESET', async () => {
    await withFault(
      'idle-timeout',
      async (p) => {
        // Idle for 1.5 s, longer than the 1 s timeout, and nothing tells the client.
        await assertStays(() => p.failure() === undefined, 1500, 'forgetting is silent');
        p.send();
        const f = await p.waitFor((e) => e.type === 'error' || e.type === 'end', 2000);
        assert.equal(f?.code, 'ECONNRESET', `expected ECONNRESET, got ${JSON.stringify(f)}`);
      },
      { ms: 1000, onExpiry: 'reset' },
    );
  });
});
