/**
 * The client's node forgets the flow: a `conntrack -F`, a node reboot under a live flow, an entry
 * that outlived kube-proxy's 24 h established timeout. Made by deleting the client flow's entry in
 * the client node's conntrack table; what the next packet meets depends on
 * net.netfilter.nf_conntrack_tcp_loose on that node:
 *
 *   loose (1, the kernel's default, which kube-proxy keeps): a mid-stream packet starts a new
 *     entry and crosses the nat table again, so the Service's `statistic random` rules pick a pod
 *     afresh. Another replica's kernel has no such connection and answers RST; the same pod (one
 *     chance in n, always with one replica or a headless name, which no DNAT rewrites) carries on.
 *   strict (0): the packet is INVALID and kube-proxy's filter drops it: a silent path, both ways.
 *
 * Once the flow is picked up again, the pod it went to is marked as a `k8s conntrack` event.
 */
import type { FaultSpec } from './spec.js';
import { nextPacketPrediction, silentPathPrediction } from './paths.js';
import { choiceParam } from './params.js';
import { count } from './shared.js';
import type { KubeControl, FaultDef, KubeFaultContext } from './types.js';
import { sec, type Prediction } from '../core/window.js';
import { sendGapMs } from '../core/workload.js';
import { PROTOCOLS } from '../protocols/index.js';
import { keepaliveProbe, probeEveryMs, serverPingMs } from '../strategies/index.js';

const NAME = 'conntrack-lost';

export const PICKUP = choiceParam(
  'pickup',
  ['loose', 'strict'],
  "what the client's node does with the next packet of the forgotten flow: loose picks it up and load-balances it again (nf_conntrack_tcp_loose=1, the default), strict drops it as INVALID (loose=0)",
  'loose',
);

/** How often the counters of the pickup rules are read, for the event that names the pod. */
const PICKUP_POLL_MS = 100;

/** The tag of the rules that count the flow's pickup toward and from a pod. */
const pickupTag = (pod: string): string => `pickup-${pod}`;

/**
 * Rules on the client's node that count (and let pass) the first packet of a new entry for the
 * flow, per pod: `:0` the client's packet steered to the pod, `:1` the pod's packet to the client.
 * A picked-up packet is NEW to conntrack; an INVALID one (strict) is dropped before them.
 */
async function countPickups(ctx: KubeFaultContext): Promise<void> {
  const { kube, flow } = ctx;
  const c = `${flow.client.address}/32`;
  const port = flow.client.port;
  for (const pod of kube.pods())
    await kube.addRules('client-node', pickupTag(pod.name), [
      `FORWARD -p tcp -s ${c} --sport ${port} -d ${pod.ip}/32 -m conntrack --ctstate NEW`,
      `FORWARD -p tcp -s ${pod.ip}/32 --sport ${kube.targetPort} -d ${c} --dport ${port} -m conntrack --ctstate NEW`,
    ]);
}

/**
 * Reads the pickup counters until the client's own packet has been picked up (marking the pod it
 * was steered to) or the deadline; a pod's packet picked up first, as a flow of its own, is marked
 * too. Each read is a control-loop step, stopped at teardown; the events are stamped when read,
 * up to a poll later than the packet.
 */
function watchPickup(ctx: KubeFaultContext, untilMs: number): void {
  const { kube } = ctx;
  const until = Date.now() + untilMs;
  let fromPodSeen = false;
  const step = async (): Promise<void> => {
    const { stdout } = await kube.execClientNode(['iptables-save', '-c', '-t', 'filter']);
    const hits = new Set<string>();
    for (const m of stdout.matchAll(/^\[(\d+):\d+\].*halfopen:pickup-(\S+?):(\d)\b/gm))
      if (Number(m[1]) > 0) hits.add(`${m[2]}:${m[3]}`);
    const pods = kube.pods();
    const fromPod = pods.find((p) => hits.has(`${p.name}:1`));
    if (fromPod && !fromPodSeen) {
      fromPodSeen = true;
      kube.event(
        'conntrack',
        fromPod.name,
        `a packet from ${fromPod.name} (${fromPod.ip}) to the client was picked up as a new flow: no DNAT to undo, so it reaches the client from the pod's own address`,
      );
    }
    const to = pods.find((p) => hits.has(`${p.name}:0`));
    if (to) {
      const same = to.name === ctx.flowPod.name;
      const reset = hits.has(`${ctx.flowPod.name}:1`);
      kube.event(
        'conntrack',
        to.name,
        `the client's next packet was picked up (tcp_loose) and steered to ${to.name} (${to.ip}): ${
          !same
            ? 'another replica, whose kernel has no such connection (RST)'
            : reset
              ? "the same pod, whose socket the client's RST to its own packet reset (RST)"
              : 'the same pod, so the flow goes on'
        }`,
      );
      return;
    }
    if (Date.now() < until) void kube.later(PICKUP_POLL_MS, 'watch the pickup', step);
  };
  void kube.later(0, 'watch the pickup', step);
}

/** Sets the client node's tcp_loose before the client connects. */
async function setLoose(kube: KubeControl, spec: FaultSpec): Promise<null> {
  const loose = PICKUP.read(spec) === 'loose' ? 1 : 0;
  await kube.execClientNode([
    'sysctl',
    '-q',
    '-w',
    `net.netfilter.nf_conntrack_tcp_loose=${loose}`,
  ]);
  return null;
}

/**
 * The same pod takes the picked-up packet with one replica, or under a headless name (the client
 * dials the pod's address: no DNAT to redo).
 */
function samePodAlways(spec: FaultSpec): boolean {
  return spec.kube === undefined || spec.kube.replicas === 1 || spec.kube.service === 'headless';
}

/**
 * The far side surely sends within this long after T0 (its pushes to a subscriber, a server's own
 * ping), or null: its packet is then the first of the flow the client's node sees.
 */
function farSendsWithinMs(spec: FaultSpec): number | null {
  const within: number[] = [];
  if (spec.workload.kind === 'subscribe') within.push(sendGapMs(spec.workload));
  const pings = serverPingMs(spec.strategy);
  if (pings !== null) within.push(pings);
  // nats-server's first ping, timed from its accept (200 ms before the warmup starts, at most).
  const first = PROTOCOLS[spec.target].serverPings?.firstMs;
  if (first && first[1] - spec.warmupMs > 0) within.push(first[1] - spec.warmupMs);
  return within.length > 0 ? Math.min(...within) : null;
}

/**
 * The client surely sends nothing of its own for this long after T0: its timers run from the
 * connection's start, a warmup (and up to 200 ms of handshake) before T0.
 */
function clientQuietMs(spec: FaultSpec): number {
  if (spec.workload.kind === 'publish') return 0;
  const every = probeEveryMs(spec.strategy, spec.workload) ?? keepaliveProbe(spec.strategy)?.idleMs;
  return every === undefined ? Infinity : Math.max(0, every - spec.warmupMs - 200);
}

function predict(spec: FaultSpec): Prediction {
  if (PICKUP.read(spec) === 'strict') {
    const silent = silentPathPrediction(spec);
    return {
      window: silent.window,
      why: `the next packet is INVALID (tcp_loose=0) and dropped, both ways: ${silent.why}`,
    };
  }
  const rst = nextPacketPrediction(spec);
  const far = farSendsWithinMs(spec);
  if (far !== null && far < clientQuietMs(spec))
    return {
      window: rst.window,
      why: `the pod's next packet (within ${sec(far)}) is picked up (tcp_loose) with nothing to un-DNAT: it reaches the client from the pod's address, the client's kernel answers RST and that resets the pod's socket; the client's next packet then meets RST on whichever pod: ${rst.why}`,
    };
  if (samePodAlways(spec))
    return {
      window: null,
      why: "the client's next packet is picked up (tcp_loose) and reaches the same pod (one replica, or a headless name: no DNAT to redo): the flow goes on",
    };
  const n = spec.kube!.replicas;
  return {
    window: rst.window,
    why: `the client's next packet is picked up (tcp_loose) and load-balanced again: with probability ${n - 1}/${n} another replica answers RST (${rst.why}); else the same pod takes it and the flow goes on (nothing detected)`,
  };
}

export const conntrackLost: FaultDef = {
  summary:
    "kube: the client's node forgets the flow (conntrack entry deleted); its next packet is load-balanced again (another replica answers RST) or, with --pickup strict, dropped as INVALID",
  params: [PICKUP],
  testbeds: {
    kube: {
      prepare: setLoose,
      async apply(ctx) {
        const { client } = ctx.flow;
        const argv = ['conntrack', '-D', '-p', 'tcp', '-s', client.address];
        argv.push('--sport', String(client.port));
        await countPickups(ctx);
        ctx.mark({ type: 'fault', name: NAME, phase: 'start' });
        const { stderr } = await ctx.kube.execClientNode(argv);
        ctx.mark({ type: 'fault', name: NAME, phase: 'applied' });
        const deleted = /(\d+) flow entr/.exec(stderr)?.[1] ?? '?';
        ctx.kube.event(
          'conntrack',
          '-',
          `the entry of ${client.address}:${client.port} is gone from the client's node (${deleted} deleted)`,
        );
        if (PICKUP.read(ctx.spec) === 'loose') watchPickup(ctx, ctx.spec.deadlineMs);
      },
      describe: ({ wire }) =>
        `the client's node forgot the flow; it dropped ${count(wire, 'kube-invalid:0')} INVALID packets; ${count(wire, 'wire:0')} RST reached the client and ${count(wire, 'wire:2')} left it`,
    },
  },
  // A new connection makes a new entry at once.
  reconnectFrom: 'detection',
  takesSink: false,
  peerAlive: false,
  predict,
};
