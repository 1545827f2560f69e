/**
 * The predicted windows, pinned number by number: every fault x strategy x workload x testbed,
 * idle timeouts, restarts, your own client, sysctls, and the verdict's boundaries. Each expected
 * window is written as its formula with the settings put in (the definitions in src/faults and src/strategies; docs/facts.md), so a
 * change that widens or shifts one shows here, and says which term moved. Pure: no processes.
 */
import { defaultKube, type KubeSettings } from '../src/core/kube.js';
import { faultsOn } from '../src/faults/index.js';
import { POD_START_ALLOWANCE_MS } from '../src/faults/rollout.js';
import { PROTOCOLS } from '../src/protocols/index.js';
import { silentPath } from '../src/strategies/index.js';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  IMMEDIATE_MS,
  REUSE_ALLOWANCE_MS,
  predict,
  toleranceMs,
  verdict,
  type Verdict,
  type Window,
} from '../src/advise/predict.js';
import {
  JIFFY_MAX_MS,
  PTO_MAX_MS,
  RETRANS_STAMP_MAX_MS,
  RTO_TICK_MS,
  nextRetransmissionBoundMs,
  retransmissionTimeoutMs,
  retransmissionWindowMs,
  userTimeoutWindowMs,
} from '../src/core/tcp.js';
import {
  FAULTS,
  TARGETS,
  TESTBEDS,
  parseStrategy,
  parseWorkload,
  validateSpec,
  type ExperimentSpec,
  type ExpiryAction,
  type FaultName,
  type IdleTimeout,
  type OwnClient,
  type TargetName,
  type TestbedName,
} from '../src/scenario/spec.js';

interface Case {
  testbed?: TestbedName;
  target?: TargetName;
  strategy?: string;
  workload?: string;
  fault?: FaultName;
  healMs?: number | null;
  restartMs?: number | null;
  qos?: 0 | 1;
  deadlineMs?: number;
  warmupMs?: number;
  sysctls?: Record<string, number>;
  latency?: { ms: number; jitterMs: number };
  idleTimeout?: IdleTimeout;
  own?: OwnClient;
  /** A fault's own parameters (`pickup`, `policy`, `same_ip`, `forward_case`). */
  params?: Record<string, string>;
  /** kube: the replicas behind the Service (default 1), the Service's form. */
  replicas?: number;
  service?: 'cluster-ip' | 'headless';
  /** Kube settings over the default (one replica, real time). */
  kube?: Partial<KubeSettings>;
}

/**
 * An experiment the CLI would accept (validateSpec): by default none, idle, partition on netns,
 * against the target whose client speaks the strategy (tcp for the kernel's and heartbeat).
 */
function spec(c: Case): ExperimentSpec {
  const strategy = parseStrategy(c.strategy ?? 'none');
  const fault = c.fault ?? 'partition';
  const speaks = TARGETS.find((t) => t === strategy.kind);
  return validateSpec({
    testbed: c.testbed ?? 'netns',
    target: c.target ?? speaks ?? 'tcp',
    own: c.own,
    strategy,
    workload: parseWorkload(c.workload ?? 'idle'),
    fault,
    healMs: c.healMs ?? null,
    restartMs: c.restartMs ?? null,
    qos: c.qos ?? 0,
    deadlineMs: c.deadlineMs ?? 10_000,
    warmupMs: c.warmupMs ?? 1000,
    sysctls: c.sysctls ?? {},
    latency: fault === 'latency' ? (c.latency ?? { ms: 100, jitterMs: 0 }) : undefined,
    idleTimeout: c.idleTimeout,
    // One replica: every workload runs on it (several brokers' sinks would all publish).
    // node-loss on a real cluster is made by the user's hook.
    ...(c.params || c.testbed === 'k8s'
      ? {
          params: {
            ...(c.testbed === 'k8s' && fault === 'node-loss' ? { hook: 'true' } : {}),
            ...c.params,
          },
        }
      : {}),
    ...(c.testbed === 'kube' || c.testbed === 'k8s'
      ? {
          kube: {
            ...defaultKube(c.replicas ?? 1),
            ...(c.service ? { service: c.service } : {}),
            ...c.kube,
          },
        }
      : {}),
  });
}
const windowOf = (c: Case): Window | null => predict(spec(c)).window;

// The constants the windows are made of, pinned by the first test below.
const IMMEDIATE = 250; // IMMEDIATE_MS: a FIN or RST crosses at once
const UP = 1500; // REUSE_ALLOWANCE_MS: a fresh host is up within this after T0
const GAP = 1000 / 10; // publish:10 sends every 100 ms
const R15: Window = [924_600, 210 * 2 ** 10 + 6 * 120_000]; // retransmissionWindowMs(15)
const R5: Window = [12_600, 210 * 2 ** 6]; // retransmissionWindowMs(5)
const RETRANS: Window = [R15[0], R15[1] + GAP]; // unacked data, first sent within GAP of T0
const UT_SLACK = 420 + 10; // RETRANS_STAMP_MAX_MS + JIFFY_MAX_MS
const DATA_RST = 2 * UP + 200; // nextRetransmissionBoundMs(UP): a retransmission meets the new host
const MSG_RST: Window = [0, GAP]; // reset while publishing: the next message draws the RST
const KERNEL_ONLY = ['none', 'keepalive', 'user-timeout'];

const KA = 'keepalive:idle=4s,interval=1s,count=3';
/**
 * The kernel's timer wheel fires a timer up to one step of its level late (HZ=250): 256 ms for the
 * 4 s idle, 32 ms for the 1 s interval. KA gives up by idle + 3 intervals + 256 + 3 x 32 ms.
 */
const KA_IDLE_STEP = 256;
const KA_MAX = 4000 + 3 * 1000 + KA_IDLE_STEP + 3 * 32;
/** Tail loss probe bound: a client with Nagle on may hold its next write this long (netns reset). */
const PTO = 210;
const UT = 'user-timeout:3s';
const HB = 'heartbeat:interval=1s,timeout=2s';
const NATS = 'nats:ping=5s,maxout=2';
const RETRIES5 = { tcp_retries2: 5 };

/** The matrix's strategies; settings picked so that a formula that swaps two terms shows. */
const STRATEGIES = {
  none: { strategy: 'none', target: 'ws' }, // ws: a client without probes that can subscribe
  keepalive: { strategy: KA },
  'user-timeout': { strategy: UT },
  heartbeat: { strategy: HB },
  nats: { strategy: NATS },
  mqtt: { strategy: 'mqtt:keepalive=2s' },
  'mqtt qos 1': { strategy: 'mqtt:keepalive=2s', qos: 1 },
  'mqtt keepalive 0': { strategy: 'mqtt:keepalive=0s' },
  'ws client': { strategy: 'ws:ping=1s,timeout=3s,side=client' },
  'ws server': { strategy: 'ws:ping=1s,timeout=3s,side=server' },
  'ws both': { strategy: 'ws:ping=1s,timeout=3s,side=both' },
  grpc: { strategy: 'grpc:time=2s,timeout=1s' },
  'grpc without calls': { strategy: 'grpc:time=2s,timeout=1s,without-calls=true' },
  h2: { strategy: 'h2:ping=3s,timeout=1s' },
} satisfies Record<string, Case>;
type Id = keyof typeof STRATEGIES;

/** Windows for idle, publish:10 and subscribe:5 (the last left out for tcp-only strategies). */
type Expect = readonly (Window | null)[];
const WORKLOADS = ['idle', 'publish:10', 'subscribe:5'];
const same = (w: Window | null, n = 3): Expect => Array<Window | null>(n).fill(w);
const pings = (p: number): Expect => [[0, p], MSG_RST, [0, p]];

/** No packet reaches the client after T0: only its own timers can tell. */
const SILENT: Record<Id, Expect> = {
  none: [null, RETRANS, null], // idle: nothing is sent, nothing times out
  keepalive: [[3 * 1000, KA_MAX], RETRANS], // (count x intvl, idle + count x intvl + steps]
  'user-timeout': [null, [3000, 3000 + UT_SLACK + GAP]], // counts unacknowledged data only
  heartbeat: same([2000, 1000 + 2000], 2), // (timeout, interval + timeout]
  nats: same([2 * 5000, 3 * 5000]), // (maxout x ping, (maxout + 1) x ping]
  mqtt: same([0.5 * 2000, 1.5 * 2000]), // 1.5 K after the last PINGRESP, within K before T0
  'mqtt qos 1': [
    [1000, 3000],
    [1.5 * 2000 - GAP, 1.5 * 2000],
    [1000, 3000],
  ], // PUBACKs too
  'mqtt keepalive 0': [null, RETRANS, null],
  'ws client': same([3000, 1000 + 3000]), // (timeout, ping + timeout], whichever side pings
  'ws server': same([3000, 1000 + 3000]),
  'ws both': same([3000, 1000 + 3000]),
  grpc: [null, [1000, 2000 + 1000], [1000, 2000 + 1000]], // pings only during a call
  'grpc without calls': same([1000, 2000 + 1000]),
  h2: same([1000, 3000 + 1000]),
};

/** The path answers the next packet with RST: a message within GAP, a probe or a ping. */
const RESET: Record<Id, Expect> = {
  none: [null, MSG_RST, null], // idle: nothing sent draws one
  keepalive: [[0, 4000 + KA_IDLE_STEP], MSG_RST], // the next probe, within idle and a step
  'user-timeout': [null, MSG_RST],
  heartbeat: [[0, 1000], MSG_RST],
  nats: pings(5000),
  mqtt: pings(2000),
  'mqtt qos 1': pings(2000),
  'mqtt keepalive 0': [null, MSG_RST, null],
  'ws client': pings(1000),
  'ws server': [[3000, 4000], MSG_RST, [3000, 4000]], // only listens: its timer decides
  'ws both': pings(1000),
  grpc: [null, MSG_RST, [0, 2000]],
  'grpc without calls': pings(2000),
  h2: pings(3000),
};

/**
 * A fresh host at the server's address within UP: the earlier of the client's own timer
 * (SILENT) and the RST that the first retransmission after UP (by DATA_RST), a ping sent later
 * (within its period) or the next keepalive probe (UP + max(idle, interval)) draws. Never before
 * UP - REUSE_ALLOWANCE_MS = 0.
 */
const REUSE: Record<Id, Expect> = {
  none: [null, [0, DATA_RST], null],
  keepalive: [
    [0, UP + Math.max(4000, 1000) + KA_IDLE_STEP],
    [0, DATA_RST],
  ],
  'user-timeout': [null, [0, DATA_RST]], // before its own 3.53 s
  heartbeat: same([0, 3000], 2), // its own 3 s before DATA_RST (3.2 s)
  nats: [
    [0, Math.max(5000, DATA_RST)],
    [0, DATA_RST],
    [0, Math.max(5000, DATA_RST)],
  ],
  mqtt: same([0, 3000]),
  'mqtt qos 1': same([0, 3000]),
  'mqtt keepalive 0': [null, [0, DATA_RST], null],
  'ws client': same([0, DATA_RST]),
  'ws server': [
    [3000, 4000],
    [0, DATA_RST],
    [3000, 4000],
  ],
  'ws both': same([0, DATA_RST]),
  grpc: [null, [0, 3000], [0, 3000]],
  'grpc without calls': same([0, 3000]),
  h2: same([0, DATA_RST]),
};

/** What each fault makes of a strategy's windows. */
function expected(id: Id, w: number, testbed: TestbedName, fault: FaultName): Window | null {
  const kernelOnly = KERNEL_ONLY.includes(parseStrategy(STRATEGIES[id].strategy).kind);
  switch (fault) {
    case 'graceful':
    case 'kill':
    case 'pod-delete':
    case 'pod-force-delete':
    case 'node-drain': // an eviction is a deletion: SIGTERM, FIN
      return [0, IMMEDIATE];
    case 'rollout':
      return [0, IMMEDIATE]; // one replica: the client's pod is the first deleted (SIGTERM, FIN)
    case 'latency':
    case 'endpoint-removed':
      return null; // the peer is alive: any detection is a false disconnect
    case 'node-loss':
      return SILENT[id][w]!;
    case 'partition':
      // The proxy's own kernel ACKs data and keepalive probes through the blackhole.
      return testbed === 'proxy' && kernelOnly ? null : SILENT[id][w]!;
    case 'proxy-dead-upstream':
      return kernelOnly ? null : SILENT[id][w]!;
    case 'statefulset-replace':
      // A new IP: the old connection's path stays silent (--same-ip has its own cases below).
      return SILENT[id][w]!;
    case 'port-forward':
      // --forward-case close (the default): kubectl's kernel closes the local connection.
      return [0, IMMEDIATE];
    case 'reset': {
      // The proxy's reset_peer toxic resets both sides at T0, whatever the client sends.
      if (testbed === 'proxy') return [0, 250];
      // MQTT.js keeps Nagle on: a write held behind a cut-off ACK waits for the loss probe.
      const win = RESET[id][w]!;
      const nagle = STRATEGIES[id].strategy.startsWith('mqtt');
      return nagle && win && win[1] < PTO ? [win[0], PTO] : win;
    }
    case 'ip-reuse':
      return REUSE[id][w]!;
    case 'conntrack-lost': {
      // tcp_loose, one replica: the client's own next packet is picked up by the same pod and
      // the flow goes on. A pod's packet first (a push to a subscriber, a server's ping before
      // the client's own: nats-server's first at 1-1.4 s, ws side=server every 1 s) reaches the
      // client un-DNATed; the client's RST to it resets the pod's socket, so the client's next
      // packet meets RST. ws client and ws both ping (1 s) before a push is sure (0.2 s) is not.
      const podFirst =
        w === 2
          ? !['ws client', 'ws both'].includes(id)
          : w === 0 && ['nats', 'ws server'].includes(id);
      return podFirst ? RESET[id][w]! : null;
    }
    case 'network-policy':
      // kube's --policy new: the open flow goes on. A real cluster's CNI decides; the window is
      // the one a policy in force gives (one not in force has a verdict of its own).
      return testbed === 'k8s' ? SILENT[id][w]! : null;
    case 'idle-timeout':
      throw new Error('idle-timeout has its own table');
  }
}

describe('predict: every fault x strategy x workload x testbed', () => {
  it('the constants the windows are made of', () => {
    assert.equal(IMMEDIATE_MS, IMMEDIATE);
    assert.equal(REUSE_ALLOWANCE_MS, UP);
    assert.deepEqual(retransmissionWindowMs(15), R15);
    assert.equal(RETRANS_STAMP_MAX_MS + JIFFY_MAX_MS, UT_SLACK);
    assert.equal(nextRetransmissionBoundMs(REUSE_ALLOWANCE_MS), DATA_RST);
  });
  for (const [id, c] of Object.entries(STRATEGIES) as [Id, Case][]) {
    const workloads = WORKLOADS.slice(0, SILENT[id].length);
    describe(id, () => {
      for (const fault of FAULTS.filter((f) => f !== 'idle-timeout'))
        it(fault, () => {
          for (const testbed of TESTBEDS.filter((t) => faultsOn(t).includes(fault)))
            workloads.forEach((workload, w) => {
              // On a real cluster the policy's being in force is read from messages crossing.
              if (testbed === 'k8s' && fault === 'network-policy' && workload === 'idle') {
                assert.throws(
                  () => spec({ ...c, testbed, fault, workload }),
                  /needs messages crossing to tell whether the policy is in force/,
                );
                return;
              }
              const p = predict(spec({ ...c, testbed, fault, workload }));
              assert.deepEqual(p.window, expected(id, w, testbed, fault), `${testbed} ${workload}`);
              assert.equal(p.unknown, undefined);
            });
        });
      it("the strategy's own silent-path window", () => {
        const s = parseStrategy(c.strategy!);
        workloads.forEach((workload, w) => {
          const p = silentPath(s, {
            workload: parseWorkload(workload),
            sysctls: {},
            qos: c.qos ?? 0,
          });
          assert.deepEqual(p.window, SILENT[id][w], workload);
        });
      });
    });
  }
  it('silent path: QoS 0 publishing is not rescheduled; sysctls reach the retransmission formula', () => {
    const publish = parseWorkload('publish:10');
    const mqtt = silentPath(parseStrategy('mqtt:keepalive=2s'), {
      workload: publish,
      sysctls: {},
      qos: 0,
    });
    assert.deepEqual(mqtt.window, [1000, 3000]);
    const none = silentPath(parseStrategy('none'), {
      workload: publish,
      sysctls: RETRIES5,
      qos: 0,
    });
    assert.deepEqual(none.window, [R5[0], R5[1] + GAP]);
  });
  it('a heal does not change the partition window', () => {
    assert.deepEqual(windowOf({ strategy: HB, healMs: 5000 }), windowOf({ strategy: HB }));
  });
});

describe('kube: conntrack-lost and network-policy by mode, replicas and Service form', () => {
  const STRICT = { fault: 'conntrack-lost', params: { pickup: 'strict' } } as const;
  const LOOSE3 = { fault: 'conntrack-lost', replicas: 3 } as const;
  const EVERY = { fault: 'network-policy', params: { policy: 'every' } } as const;
  const cases: [Case, Window | null][] = [
    // strict: the next packet is INVALID and dropped, both ways: a silent path.
    [{ ...STRICT, strategy: HB }, SILENT.heartbeat[0]!],
    [{ ...STRICT, workload: 'publish:10' }, RETRANS],
    [{ ...STRICT, strategy: NATS, workload: 'subscribe:5' }, SILENT.nats[2]!],
    // loose, 3 replicas: the client's packet is balanced again; RST from another replica (2/3).
    [{ ...LOOSE3, workload: 'publish:10' }, MSG_RST],
    [{ ...LOOSE3, strategy: HB }, [0, 1000]],
    [{ ...LOOSE3, strategy: NATS, workload: 'publish:10' }, MSG_RST],
    // nats-server's first ping (1-1.4 s) comes before the client's (4 s): the client's kernel
    // resets the pod's socket, so its own ping meets RST, whatever pod it is steered to.
    [{ ...LOOSE3, strategy: NATS }, [0, 5000]],
    // Headless: the client dials the pod itself, no DNAT to redo: the same pod takes it.
    [{ ...LOOSE3, service: 'headless', workload: 'publish:10' }, null],
    [{ ...LOOSE3, service: 'headless', strategy: NATS }, [0, 5000]],
    // every packet judged: a silent path; new connections only: the open flow goes on.
    [{ ...EVERY, strategy: HB }, SILENT.heartbeat[0]!],
    [{ ...EVERY, strategy: NATS, workload: 'publish:10' }, SILENT.nats[1]!],
    [{ fault: 'network-policy', params: { policy: 'new' }, strategy: NATS }, null],
  ];
  for (const [c, want] of cases)
    it(JSON.stringify(c), () => assert.deepEqual(windowOf({ testbed: 'kube', ...c }), want));
  it('why says how likely the RST is, and why nothing comes', () => {
    const why = (c: Case): string => predict(spec({ testbed: 'kube', ...c })).why;
    assert.match(why({ ...LOOSE3, workload: 'publish:10' }), /probability 2\/3/);
    assert.match(why({ fault: 'conntrack-lost', workload: 'publish:10' }), /same pod/);
    assert.match(why({ ...STRICT, strategy: HB }), /INVALID/);
    assert.match(why({ fault: 'network-policy', strategy: HB }), /new connections only/);
  });
});

describe('node-loss with a restart: the replacement answers RST; r = restart + UP', () => {
  const cases: [Case, Window | null][] = [
    // r = 3.5 s: a ping's next retransmission after r, by 2r + 200 ms, beats (10 s, 15 s].
    [{ strategy: NATS, restartMs: 2000 }, [2000, 2 * (2000 + UP) + 200]],
    // r = 21.5 s: its own timer first.
    [{ strategy: NATS, restartMs: 20_000, deadlineMs: 30_000 }, [2 * 5000, 3 * 5000]],
    // The next keepalive probe after r, by r + max(idle, interval) = 6.5 s, before 7 s.
    [{ strategy: KA, restartMs: 1000 }, [1000, 1000 + UP + 4000 + KA_IDLE_STEP]],
    [{ workload: 'publish:10', restartMs: 2000 }, [2000, 2 * (2000 + UP) + 200]],
    // Its own 3.53 s comes before 7.2 s.
    [{ strategy: UT, workload: 'publish:10', restartMs: 2000 }, [2000, 3000 + UT_SLACK + GAP]],
    [
      { workload: 'publish:10', restartMs: 20_000, deadlineMs: 30_000, sysctls: RETRIES5 },
      [R5[0], R5[1] + GAP],
    ],
    // Nothing sent, nothing to draw the RST.
    [{ restartMs: 2000 }, null],
    [{ strategy: 'ws:ping=1s,timeout=3s,side=server', restartMs: 2000 }, [3000, 1000 + 3000]],
    [{ fault: 'kill', restartMs: 2000 }, [0, IMMEDIATE]],
  ];
  for (const [c, want] of cases)
    it(JSON.stringify(c), () => assert.deepEqual(windowOf({ fault: 'node-loss', ...c }), want));
});

describe("kube rollout: the client's pod is deleted in its turn; endpoint-removed: nothing breaks", () => {
  const START = 3000; // POD_START_ALLOWANCE_MS: a replacement up and Ready
  /** A kube spec (3 replicas unless said) with the delays at `scale` and a preStop given in real ms. */
  const kubeWindow = (fault: FaultName, replicas: number, scale: number, prestop?: number) =>
    predict({
      ...spec({ testbed: 'kube', fault, strategy: NATS }),
      kube: {
        ...defaultKube(replicas),
        timeScale: scale,
        delays: prestop === undefined ? {} : { prestop },
      },
    }).window;
  it('the constant', () => assert.equal(POD_START_ALLOWANCE_MS, START));
  it('rollout: up to replicas - 1 turns of (preStop + max(exit, endpoint lag) + start) before it', () => {
    // Real delays: the endpoint lag (1 s) is longer than the exit (250 ms).
    assert.deepEqual(kubeWindow('rollout', 3, 1), [0, 2 * (1000 + START) + IMMEDIATE]);
    assert.deepEqual(kubeWindow('rollout', 3, 0.05), [0, 2 * (IMMEDIATE + START) + IMMEDIATE]);
    assert.deepEqual(kubeWindow('rollout', 5, 0.05), [0, 4 * (IMMEDIATE + START) + IMMEDIATE]);
    // preStop 5 s at 1/20: 250 ms before every SIGTERM, the client's own first.
    assert.deepEqual(kubeWindow('rollout', 3, 0.05, 5000), [
      250,
      2 * (250 + IMMEDIATE + START) + 250 + IMMEDIATE,
    ]);
    assert.deepEqual(kubeWindow('rollout', 1, 0.05), [0, IMMEDIATE]);
  });
  it('endpoint-removed: the pod and the path stay alive, whatever the cluster', () => {
    assert.equal(kubeWindow('endpoint-removed', 3, 0.05), null);
    assert.equal(kubeWindow('endpoint-removed', 1, 1, 5000), null);
  });
});

describe('statefulset-replace --same-ip: the replacement answers RST; r = node_grace + eviction + UP', () => {
  // At 1/20 of real time with a 60 s eviction: NotReady at 2.5 s, the replacement by 2.5 + 3 s.
  const fast: Partial<KubeSettings> = { timeScale: 0.05, delays: { eviction: 60_000 } };
  const R = 2500 + 3000 + UP;
  const same = { testbed: 'kube' as const, fault: 'statefulset-replace' as const };
  const sameIp = { ...same, params: { same_ip: 'yes' } };
  const cases: [Case, Window | null][] = [
    // A ping's next retransmission after r, by 2r + 200 ms, beats its own (10 s, 15 s].
    [{ ...sameIp, strategy: NATS, kube: fast }, [R - UP, 2 * R + 200]],
    [{ ...sameIp, workload: 'publish:10', kube: fast }, [R - UP, 2 * R + 200]],
    // Its own keepalive gives up (by 7.35 s) before the next probe after r (r + 4 s + a step).
    [{ ...sameIp, strategy: KA, kube: fast }, [3000, KA_MAX]],
    // Idle without probes: nothing reaches the replacement.
    [{ ...sameIp, kube: fast }, null],
    // Real time: the replacement comes 351.5 s after T0, long after its own timer.
    [{ ...sameIp, strategy: NATS }, [2 * 5000, 3 * 5000]],
    // A new IP: nothing ever answers the old connection.
    [{ ...same, strategy: NATS, kube: fast }, [2 * 5000, 3 * 5000]],
    [{ ...same, workload: 'publish:10', kube: fast }, RETRANS],
  ];
  for (const [c, want] of cases) it(JSON.stringify(c), () => assert.deepEqual(windowOf(c), want));
});

describe('port-forward: by --forward-case', () => {
  const pf = (forward_case: string, c: Case = {}): Case => ({
    testbed: 'kube',
    fault: 'port-forward',
    params: { forward_case },
    ...c,
  });
  const cases: [Case, Window | null][] = [
    [pf('close', { strategy: KA }), [0, IMMEDIATE]],
    [pf('pod-delete'), [0, IMMEDIATE]],
    // A preStop sleep (5 s at real time) comes before SIGTERM.
    [pf('pod-delete', { kube: { delays: { prestop: 5000 } } }), [5000, 5000 + IMMEDIATE]],
    // The relay's kernel answers data and probes: only end-to-end heartbeats notice.
    [pf('node-loss'), null],
    [pf('node-loss', { strategy: KA }), null],
    [pf('node-loss', { strategy: UT, workload: 'publish:10' }), null],
    [pf('node-loss', { workload: 'publish:10' }), null],
    [pf('node-loss', { strategy: NATS }), [2 * 5000, 3 * 5000]],
    [pf('node-loss', { strategy: HB }), [2000, 1000 + 2000]],
  ];
  for (const [c, want] of cases) it(JSON.stringify(c), () => assert.deepEqual(windowOf(c), want));
});

describe('idle-timeout: the window for a fault at T0, moved by when the flow is forgotten', () => {
  const N = 2000;
  const proxied: Case = { testbed: 'proxy', idleTimeout: { ms: 1500, onExpiry: 'drop' } };
  const HB10 = 'heartbeat:interval=10s,timeout=1s';
  // A period within toleranceMs(N) of N is unknown; a millisecond more is a window.
  const edge = Math.floor(N + toleranceMs(N));
  // nats-server's first ping comes 2-2.4 s after it accepted (200 ms allowed for the handshake);
  // with a 1 s warmup that is o after T0, within N: it restarts the middlebox's clock.
  const o: Window = [2000 - 1000 - 200, 2400 - 1000];
  const cases: [ExpiryAction, Case, Window | null | 'unknown'][] = [
    // Nothing crosses, nothing is ever sent: never.
    ['drop', {}, null],
    ['reset', {}, null],
    ['drop', { strategy: 'grpc:time=2s,timeout=1s' }, null], // idle: no call, no ping
    // A packet every 0.1 s or 1 s, under N, keeps the flow.
    ['drop', { workload: 'publish:10' }, null],
    ['drop', { strategy: HB }, null],
    ['drop', { strategy: `heartbeat:interval=${edge}ms,timeout=2s` }, 'unknown'],
    // One source of period G >= N fixes the phase: the fault-at-T0 window, moved by N.
    [
      'drop',
      { strategy: `heartbeat:interval=${edge + 1}ms,timeout=2s` },
      [N + 2000, N + edge + 1 + 2000],
    ],
    ['drop', { strategy: HB10 }, [N + 1000, N + 10_000 + 1000]],
    ['reset', { strategy: HB10 }, [N, N + 10_000]], // the next ping draws the RST
    ['drop', { strategy: KA }, [N + 3 * 1000, N + KA_MAX]],
    ['reset', { strategy: KA }, [N, N + 4000 + KA_IDLE_STEP]],
    ['drop', { workload: 'publish:0.25' }, [N + R15[0], N + R15[1] + 4000]],
    ['reset', { workload: 'publish:0.25' }, [N, N + 4000]],
    ['drop', { workload: 'publish:0.25', sysctls: RETRIES5 }, [N + R5[0], N + R5[1] + 4000]],
    ['drop', { strategy: UT, workload: 'publish:0.25' }, [N + 3000, N + 3000 + UT_SLACK + 4000]],
    ['drop', { strategy: 'mqtt:keepalive=4s' }, [N + 0.5 * 4000, N + 1.5 * 4000]],
    ['reset', { strategy: 'mqtt:keepalive=4s' }, [N, N + 4000]],
    // side=server: the server's pings are the one source.
    ['drop', { strategy: 'ws:ping=4s,timeout=3s,side=server' }, [N + 3000, N + 4000 + 3000]],
    // The proxy's kernel answers probes and data: only the toxic's RST to a message tells.
    ['drop', { testbed: 'proxy', strategy: KA }, null],
    ['reset', { testbed: 'proxy', strategy: KA }, null],
    ['drop', { testbed: 'proxy', workload: 'publish:0.25' }, null],
    ['reset', { testbed: 'proxy', workload: 'publish:0.25' }, [N, N + 4000]],
    // An application ping is forwarded: a window, here for N = 1.5 s.
    ['drop', { ...proxied, strategy: 'h2:ping=4s,timeout=1s' }, [1500 + 1000, 1500 + 4000 + 1000]],
    // Several sources, load rho = sum(N / period) < 1: a gap of N by N + (k + 1) N / (1 - rho).
    [
      'drop',
      { strategy: HB10, workload: 'publish:0.1' },
      [N + 1000, N + (3 * N) / (1 - 0.4) + 11_000],
    ],
    // rho >= 1: 4 s pings from each side (2N / 4 s), or 3 s pings and 4 s messages.
    ['drop', { strategy: 'ws:ping=4s,timeout=3s,side=both' }, 'unknown'],
    ['drop', { strategy: 'nats:ping=3s,maxout=2', workload: 'publish:0.25' }, 'unknown'],
    // nats-server's first ping moves the window by o; before T0 (warmup 3 s) it changes nothing.
    ['drop', { strategy: NATS }, [N + o[0] + 2 * 5000, N + o[1] + 3 * 5000]],
    ['drop', { strategy: NATS, warmupMs: 3000 }, [N + 2 * 5000, N + 3 * 5000]],
    ['reset', { strategy: NATS }, [N + o[0], N + o[1] + 5000]],
    // Two sources (8 s pings and messages, rho = 0.5) and the one-off ping: N + 4N / (1 - rho).
    [
      'drop',
      { strategy: 'nats:ping=8s,maxout=2', workload: 'publish:0.125' },
      [N + o[0] + 2 * 8000, N + (4 * N) / 0.5 + 3 * 8000],
    ],
    // A run past 120 s counts nats-server's 2-minute ping as a second source: about 27.3 s.
    [
      'drop',
      { strategy: NATS, warmupMs: 3000, deadlineMs: 200_000 },
      [N + 2 * 5000, N + (3 * N) / (1 - (N / 5000 + N / 120_000)) + 3 * 5000],
    ],
  ];
  for (const [onExpiry, c, want] of cases)
    it(`${onExpiry} ${JSON.stringify(c)}`, () => {
      const idleTimeout = { ms: N, onExpiry, ...c.idleTimeout };
      const p = predict(spec({ ...c, idleTimeout, fault: 'idle-timeout' }));
      if (want === 'unknown') assert.deepEqual([p.window, p.unknown], [null, true]);
      else assert.deepEqual([p.window, p.unknown], [want, undefined]);
    });
  it('nats-server constants', () => {
    assert.deepEqual(PROTOCOLS.nats.serverPings, { firstMs: [2000, 2400], everyMs: 120_000 });
  });
});

describe('your own client, sysctls, and what `why` says', () => {
  const own = (declared: boolean): OwnClient => ({ command: 'client', detectLog: null, declared });
  it('undeclared: no prediction, whatever the fault', () => {
    for (const testbed of TESTBEDS)
      for (const fault of faultsOn(testbed)) {
        const idleTimeout: IdleTimeout | undefined =
          fault === 'idle-timeout' ? { ms: 2000, onExpiry: 'drop' } : undefined;
        // A publisher: network-policy on a real cluster refuses an idle client.
        const p = predict(
          spec({ testbed, fault, idleTimeout, own: own(false), workload: 'publish:10' }),
        );
        assert.deepEqual([p.window, p.unknown], [null, true], `${testbed} ${fault}`);
        assert.match(p.why, /--strategy/);
      }
  });
  it('declared: predicted from the strategy it names, like the built-in client', () => {
    const nats = { target: 'nats' as const, own: own(true) };
    assert.deepEqual(windowOf({ ...nats, strategy: KA, workload: 'subscribe:5' }), [3000, KA_MAX]);
    const ut = { ...nats, strategy: UT, workload: 'publish:10' };
    assert.deepEqual(windowOf(ut), [3000, 3000 + UT_SLACK + GAP]);
    assert.equal(windowOf({ ...ut, testbed: 'proxy' }), null);
    const reset = { strategy: NATS, fault: 'reset' as const };
    assert.deepEqual(windowOf({ ...reset, own: own(true) }), windowOf(reset));
  });
  it('tcp_retries2=5: 12.6 s of backoff for unacknowledged data; timers unchanged', () => {
    const sysctls = RETRIES5;
    const publish = { workload: 'publish:10', sysctls };
    const retries5: Window = [R5[0], R5[1] + GAP];
    assert.deepEqual(windowOf(publish), retries5);
    assert.deepEqual(windowOf({ ...publish, strategy: KA }), retries5);
    assert.deepEqual(windowOf({ ...publish, strategy: 'mqtt:keepalive=0s' }), retries5);
    assert.deepEqual(windowOf({ ...publish, strategy: UT }), [3000, 3000 + UT_SLACK + GAP]);
    assert.deepEqual(windowOf({ ...publish, fault: 'ip-reuse' }), [0, DATA_RST]);
    assert.deepEqual(windowOf({ strategy: KA, sysctls }), [3000, KA_MAX]);
  });
  it('why names the numbers', () => {
    const has = (c: Case, ...parts: string[]): void => {
      const why = predict(spec(c)).why;
      for (const part of parts) assert.ok(why.includes(part), `${part} not in: ${why}`);
    };
    has({ strategy: HB }, 'interval 1s', 'timeout 2s', '(2s, 3s]');
    has({ strategy: KA }, 'idle 4s', 'count 3', '(3s, 7.352s]');
    has({ strategy: UT, workload: 'publish:10' }, 'TCP_USER_TIMEOUT 3s', 'within 0.1s');
    has({ workload: 'publish:10', sysctls: RETRIES5 }, 'tcp_retries2=5', '12.6s');
    has({ strategy: NATS }, 'maxPingOut 2', '(10s, 15s]');
    has({ strategy: 'mqtt:keepalive=2s' }, '1.5 x keepalive 2s = 3s', '(1s, 3s]');
    has({ strategy: 'grpc:time=2s,timeout=1s' }, 'keepalive_permit_without_calls');
    has({ strategy: HB, fault: 'ip-reuse' }, 'within 1.5s');
    has({ workload: 'publish:10', fault: 'reset' }, 'within 0.1s');
    const idle: Case = { fault: 'idle-timeout', idleTimeout: { ms: 2000, onExpiry: 'drop' } };
    has({ ...idle, strategy: NATS }, 'shifted by 2.8s to 3.4s', '2s-2.4s');
    has({ ...idle, strategy: 'heartbeat:interval=2s,timeout=1s' }, 'within tolerance', 'every 2s');
    has({ testbed: 'proxy', fault: 'latency' }, 'false disconnect');
  });
});

describe('verdict: a measurement against its window, with toleranceMs at each bound', () => {
  const W: Window = [3000, 5000];
  const early = W[0] - toleranceMs(W[0]); // the earliest detection still inside
  const late = W[1] + toleranceMs(W[1]); // the latest
  const cases: [string, number | null, Window | null, number | undefined, boolean, Verdict][] = [
    ['in the middle', 4000, W, undefined, false, 'inside'],
    ['at the lower edge of the tolerance', early, W, undefined, false, 'inside'],
    ['just before it', early - 1, W, undefined, false, 'early'],
    ['at the upper edge of the tolerance', late, W, undefined, false, 'inside'],
    ['just after it', late + 1, W, undefined, false, 'late'],
    ['at once, in an immediate window', 0, [0, IMMEDIATE], undefined, false, 'inside'],
    ['a detection is judged by the window, not the deadline', 4000, W, 2000, false, 'inside'],
    ['not detected, no deadline given', null, W, undefined, false, 'not detected'],
    ['not detected, the window opens at the deadline', null, W, W[0], false, 'not detected'],
    ['not detected, the deadline inside the window', null, W, 4000, false, 'not detected'],
    ['the window opens after the deadline', null, W, W[0] - 1, false, 'beyond deadline'],
    ['never predicted, never detected', null, null, 10_000, false, 'not detected (as predicted)'],
    ['never predicted, detected', 10, null, 10_000, false, 'detected (predicted never)'],
    ['unknown, whatever the window says', 4000, W, 10_000, true, 'measured (no prediction)'],
    ['unknown, nothing detected', null, null, 10_000, true, 'measured (no prediction)'],
  ];
  for (const [name, detect, window, deadline, unknown, want] of cases)
    it(name, () => assert.equal(verdict(detect, window, deadline, unknown), want));
});

describe('tcp.ts: the kernel timings the windows rest on', () => {
  it('PTO and RTO round up to a 10 ms tick; the first retransmission comes within 420 ms', () => {
    assert.deepEqual([PTO_MAX_MS, RTO_TICK_MS, JIFFY_MAX_MS], [200 + 10, 200 + 10, 10]);
    assert.equal(RETRANS_STAMP_MAX_MS, PTO_MAX_MS + RTO_TICK_MS);
  });
  it('retransmissionTimeoutMs below the linear threshold and with another RTO_MIN', () => {
    assert.equal(retransmissionTimeoutMs(1), (2 ** 2 - 1) * 200);
    assert.equal(retransmissionTimeoutMs(3), (2 ** 4 - 1) * 200);
    // RTO_MIN 100 ms: doubling for floor(log2(1200)) = 10 steps, then 120 s each.
    assert.equal(retransmissionTimeoutMs(15, 100), (2 ** 11 - 1) * 100 + 5 * 120_000);
  });
  it('retransmissionWindowMs: the first RTO firing (210 ms x 2^k) past 420 ms + timeout', () => {
    // facts: tcp_retries2=3 gave up after 6.6 s and 5 after 13.1 s here: inside each.
    assert.deepEqual(retransmissionWindowMs(3), [3000, 210 * 2 ** 5]);
    assert.deepEqual(retransmissionWindowMs(5), R5);
    assert.deepEqual(retransmissionWindowMs(15), R15);
  });
  it('nextRetransmissionBoundMs: 2 x instant + RTO_MIN bounds the next of 200 x (2^k - 1)', () => {
    assert.equal(nextRetransmissionBoundMs(0), 200);
    assert.equal(nextRetransmissionBoundMs(1500), 3200);
    const sends = Array.from({ length: 12 }, (_, k) => 200 * (2 ** k - 1));
    for (const at of [0, 199, 200, 201, 1000, 1500, 6199, 50_000]) {
      const next = sends.find((t) => t > at)!;
      assert.ok(next <= nextRetransmissionBoundMs(at), `${at}: next ${next}`);
    }
  });
  it('userTimeoutWindowMs: (u, u + 420 ms + one tick]; facts: 3 s fired at 3.22 s', () => {
    assert.deepEqual(userTimeoutWindowMs(3000), [3000, 3000 + 420 + 10]);
  });
});
