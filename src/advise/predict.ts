/**
 * The window [min, max] (ms after the fault's T0) in which a strategy's formula says the client
 * notices the fault, or null when the formula says it never does. Pure: used by the runner to
 * judge each measurement and by the CLI to explain it. Formulas and sources: shared/facts.md.
 */
import type { ExperimentSpec, Strategy, Workload } from '../scenario/spec.js';
import {
  DEFAULT_TCP_RETRIES2,
  keepaliveWorstMs,
  nextRetransmissionBoundMs,
  PTO_MAX_MS,
  retransmissionTimeoutMs,
  retransmissionWindowMs,
  timerSlackMs,
  userTimeoutWindowMs,
} from './tcp.js';

export type Window = readonly [minMs: number, maxMs: number];

export interface Prediction {
  /** null: the formula says this client never notices. */
  window: Window | null;
  /** The formula, in words, with the numbers put in. */
  why: string;
  /** Nothing is known to predict from (your own client, settings not described). */
  unknown?: true;
}

/**
 * A FIN or RST crosses at once; this bound covers the target process exiting and two event loops
 * noticing on a loaded two-core machine.
 */
export const IMMEDIATE_MS = 250;

/**
 * ip-reuse: the lab needs this long, at most, to remove the lost host and bring up the fresh one
 * (namespace, veth, address) after T0. Measured at 100-400 ms; the bound leaves room for load.
 */
export const REUSE_ALLOWANCE_MS = 1500;

const sec = (ms: number): string => `${+(ms / 1000).toFixed(3)}s`;
/** Time between the client's own messages (0 when it sends none). */
const sendGapMs = (w: Workload): number => (w.kind === 'publish' ? 1000 / w.rate : 0);

/**
 * How often the strategy puts an application-level probe on the wire, at most (null: never).
 * MQTT.js sends PINGREQ K after the last reschedule, so within K of any instant.
 */
function probeEveryMs(s: Strategy, w: Workload): number | null {
  switch (s.kind) {
    case 'heartbeat':
      return s.intervalMs;
    case 'h2':
      return s.pingMs;
    case 'ws':
      // side=server: the server pings; the client only listens for them.
      return s.side === 'server' ? null : s.pingMs;
    case 'grpc':
      return grpcPings(s, w) ? s.timeMs : null;
    case 'nats':
      return s.pingMs;
    case 'mqtt':
      return s.keepaliveMs > 0 ? s.keepaliveMs : null;
    default:
      return null;
  }
}

function retransmission(workload: Workload, sysctls: Record<string, number>): Prediction {
  const retries2 = sysctls.tcp_retries2 ?? DEFAULT_TCP_RETRIES2;
  const t = retransmissionTimeoutMs(retries2);
  const [min, max] = retransmissionWindowMs(retries2);
  return {
    window: [min, max + sendGapMs(workload)],
    why: `unacknowledged data: RTO backoff from 200ms with tcp_retries2=${retries2} gives up ${sec(t)} after the first retransmission (within ~0.4s of the first send after T0, which comes within ${sec(sendGapMs(workload))}), at the next RTO firing`,
  };
}

/**
 * grpc-js pings only while a call is active (the publish workload's stream) unless
 * keepalive_permit_without_calls is set; the idle workload holds a connected channel, no call.
 */
const grpcPings = (s: Strategy & { kind: 'grpc' }, w: Workload): boolean =>
  s.withoutCalls || w.kind !== 'idle';

/** No packet reaches the client after T0: only timers on the client can notice. */
export function silentPathPrediction(
  strategy: Strategy,
  workload: Workload,
  sysctls: Record<string, number>,
  qos: 0 | 1 = 0,
): Prediction {
  const publishing = workload.kind === 'publish';
  switch (strategy.kind) {
    case 'none':
      return publishing
        ? retransmission(workload, sysctls)
        : {
            window: null,
            why: 'idle socket without keepalive or heartbeat: nothing is ever sent, so nothing times out',
          };
    case 'keepalive': {
      if (publishing) {
        const r = retransmission(workload, sysctls);
        return {
          ...r,
          why: `keepalive probes only go out when nothing is unacknowledged; ${r.why}`,
        };
      }
      const { idleMs: i, intervalMs: v, count: n } = strategy;
      // The first probe and each of the n firings after it come up to one timer-wheel
      // granularity late (timerSlackMs), and each firing arms the next.
      const max = keepaliveWorstMs(i, v, n);
      return {
        window: [n * v, max],
        why: `keepalive: last ACK within idle before T0, then idle ${sec(i)} + interval ${sec(v)} x count ${n}, each of those ${n + 1} kernel timers up to one timer-wheel step late (${sec(max - i - n * v)} in all): (${sec(n * v)}, ${sec(max)}]`,
      };
    }
    case 'user-timeout': {
      if (!publishing) {
        return {
          window: null,
          why: 'TCP_USER_TIMEOUT only counts unacknowledged data; an idle socket never times out',
        };
      }
      const u = strategy.timeoutMs;
      const gap = sendGapMs(workload);
      const [min, max] = userTimeoutWindowMs(u);
      return {
        window: [min, max + gap],
        why: `TCP_USER_TIMEOUT ${sec(u)} counted from the first retransmission (within ~0.4s of the first send after T0, which comes within ${sec(gap)})`,
      };
    }
    case 'heartbeat': {
      const { intervalMs: i, timeoutMs: t } = strategy;
      return {
        window: [t, i + t],
        why: `heartbeat: first unanswered ping within interval ${sec(i)} of T0, then timeout ${sec(t)}: (${sec(t)}, ${sec(i + t)}]`,
      };
    }
    case 'nats': {
      const { pingMs: p, maxOut: n } = strategy;
      return {
        window: [n * p, (n + 1) * p],
        why: `nats.js: a ping timer every ${sec(p)} from connect, not reset by traffic; the tick that finds maxPingOut ${n} pings unanswered is stale: tick ${n + 1} after T0, (${sec(n * p)}, ${sec((n + 1) * p)}]`,
      };
    }
    case 'mqtt':
      return mqttSilent(strategy.keepaliveMs, workload, qos, sysctls);
    case 'ws': {
      const { pingMs: p, timeoutMs: t, side } = strategy;
      const how =
        side === 'client'
          ? `the client's first unanswered ping goes out within ${sec(p)} of T0, and ${sec(t)} later it gives up`
          : side === 'server'
            ? `the server's last ping arrived within ${sec(p)} before T0; the client gives up when the next is ${sec(t)} overdue`
            : `the client gives up on a pong or on the server's next ping, each ${sec(t)} overdue, within ${sec(p)} + ${sec(t)} of T0`;
      return { window: [t, p + t], why: `ws (side=${side}): ${how}: (${sec(t)}, ${sec(p + t)}]` };
    }
    case 'grpc': {
      const { timeMs: k, timeoutMs: t } = strategy;
      if (!grpcPings(strategy, workload))
        return {
          window: null,
          why: 'grpc-js pings only while a call is active (keepalive_permit_without_calls false); an idle channel never times out',
        };
      return {
        window: [t, k + t],
        why: `grpc-js: a keepalive ping ${sec(k)} after the last ack (data does not reset it), unacked for keepalive_timeout ${sec(t)}: (${sec(t)}, ${sec(k + t)}]`,
      };
    }
    case 'h2': {
      const { pingMs: p, timeoutMs: t } = strategy;
      return {
        window: [t, p + t],
        why: `http2: session.ping() every ${sec(p)}; the first unanswered one goes out within ${sec(p)} of T0 and ends the session ${sec(t)} later: (${sec(t)}, ${sec(p + t)}]`,
      };
    }
  }
}

/**
 * MQTT.js >= 5.6: PINGREQ at K and "Keepalive timeout" at 1.5 K after the last reschedule, which
 * PINGRESP and received acks (PUBACK, SUBACK) do; sends and received messages do not.
 */
function mqttSilent(
  k: number,
  workload: Workload,
  qos: 0 | 1,
  sysctls: Record<string, number>,
): Prediction {
  if (k === 0) {
    if (workload.kind === 'publish') {
      const r = retransmission(workload, sysctls);
      return { ...r, why: `keepalive 0 disables MQTT pings; ${r.why}` };
    }
    return { window: null, why: 'keepalive 0 disables MQTT pings: nothing ever times out' };
  }
  const t = 1.5 * k;
  if (workload.kind === 'publish' && qos === 1) {
    const since = Math.min(sendGapMs(workload), k);
    return {
      window: [t - since, t],
      why: `MQTT.js: 1.5 x keepalive ${sec(k)} = ${sec(t)} after the last PUBACK or PINGRESP, which came within ${sec(since)} before T0: (${sec(t - since)}, ${sec(t)}]`,
    };
  }
  return {
    window: [0.5 * k, t],
    why: `MQTT.js: 1.5 x keepalive ${sec(k)} = ${sec(t)} after the last PINGRESP (nothing else reschedules it here), which came within ${sec(k)} before T0: (${sec(0.5 * k)}, ${sec(t)}]`,
  };
}

/**
 * Clients whose socket keeps Nagle's algorithm on: MQTT.js never sets TCP_NODELAY (the lab's TCP
 * client, nats.js, ws, grpc-js and node:http2 all do). Your own program may do either.
 */
const usesNagle = (spec: ExperimentSpec): boolean =>
  spec.own !== undefined || spec.target === 'mqtt';

/**
 * reset on netns: the router answers the flow's next packet with RST, in either direction, from
 * the moment the rule is in force. With Nagle's algorithm on, the client's next packet may wait:
 * when the rule cuts off the ACK of the client's last segment (which crossed just before it), Nagle
 * holds every later small write until that ACK comes, which it never does, and only the tail loss
 * probe, PTO = 2 srtt + 200 ms after that segment (tcp_schedule_loss_probe(), one segment in
 * flight), puts a packet on the wire to draw the RST. Measured: MQTT.js publishing 20 a second,
 * the probe 208 ms after its last segment carried the four messages held since.
 */
function resetPrediction(spec: ExperimentSpec): Prediction {
  const p = nextPacketPrediction(spec.strategy, spec.workload);
  if (spec.testbed !== 'netns' || !usesNagle(spec) || p.window === null) return p;
  if (p.window[1] >= PTO_MAX_MS) return p;
  return {
    window: [p.window[0], PTO_MAX_MS],
    why: `${p.why}; or, when the fault cut off the ACK of the segment before it, Nagle's algorithm (no TCP_NODELAY) holds it until the tail loss probe, within ${sec(PTO_MAX_MS)}`,
  };
}

/** The path answers the next packet with RST: the client notices when it next sends. */
function nextPacketPrediction(strategy: Strategy, workload: Workload): Prediction {
  if (workload.kind === 'publish') {
    return {
      window: [0, sendGapMs(workload)],
      why: `RST answers the next message, sent within ${sec(sendGapMs(workload))}`,
    };
  }
  // A subscriber sends nothing of its own: what the far side sends draws the RST to the far side.
  switch (strategy.kind) {
    case 'none':
    case 'user-timeout':
      return {
        window: null,
        why: 'an idle client without probes sends nothing, so no RST ever comes back',
      };
    case 'keepalive': {
      const max = strategy.idleMs + timerSlackMs(strategy.idleMs);
      return {
        window: [0, max],
        why: `RST answers the next keepalive probe, within idle ${sec(strategy.idleMs)} and one timer-wheel step: ${sec(max)}`,
      };
    }
    case 'heartbeat':
    case 'nats':
    case 'mqtt':
    case 'ws':
    case 'grpc':
    case 'h2': {
      const every = probeEveryMs(strategy, workload);
      if (every !== null)
        return { window: [0, every], why: `RST answers the next ping, sent within ${sec(every)}` };
      // No ping of its own: only a timer that waits for the peer (ws side=server) can notice.
      const silent = silentPathPrediction(strategy, workload, {});
      return {
        window: silent.window,
        why: `the client sends nothing, so no RST comes back; ${silent.why}`,
      };
    }
  }
}

/**
 * Silence until a fresh host is up at the server's address (ip-reuse: at once; node-loss with
 * `--restart`: the replacement), then the first packet of the old connection that reaches it draws
 * an RST; whichever comes first, the client's own timer or that RST, is the detection.
 */
function freshHostPrediction(spec: ExperimentSpec, upByMs: number): Prediction {
  const silent = silentPathPrediction(spec.strategy, spec.workload, spec.sysctls, spec.qos);
  const r = upByMs;
  const s = spec.strategy;
  const probe = probeEveryMs(s, spec.workload);
  let nextMax: number | null;
  let how: string;
  if (spec.workload.kind === 'publish' || probe !== null) {
    // Data sent into the silence (messages or pings) is retransmitted with a doubling RTO; the
    // next retransmission after the fresh host is up meets its RST.
    const firstSend = spec.workload.kind === 'publish' ? sendGapMs(spec.workload) : probe!;
    // Data first sent at s <= r is retransmitted next by s + bound(r - s) <= bound(r); data sent
    // after r meets the fresh host at once.
    nextMax = Math.max(firstSend, nextRetransmissionBoundMs(r));
    how = `the next retransmission after a fresh host is up (within ${sec(r)}) draws an RST`;
  } else if (s.kind === 'keepalive') {
    const every = Math.max(s.idleMs, s.intervalMs);
    nextMax = r + every + timerSlackMs(every);
    how = `the next keepalive probe after a fresh host is up (within ${sec(r)}) draws an RST`;
  } else {
    nextMax = null;
    how = 'an idle client without probes sends nothing to the fresh host';
  }
  if (nextMax === null) return { window: silent.window, why: `${how}; ${silent.why}` };
  const max = silent.window ? Math.min(silent.window[1], nextMax) : nextMax;
  const min = Math.min(silent.window?.[0] ?? Infinity, upByMs - REUSE_ALLOWANCE_MS);
  return {
    window: [Math.max(0, min), max],
    why: `${how}, unless its own timer fires first (${silent.why})`,
  };
}

/** nats-server pings each client every ping_interval; the lab's config keeps its default. */
export const NATS_SERVER_PING_MS = 120_000;

/**
 * Each periodic source of packets on the client's flow, as its period in ms: the client's
 * messages, the far side's pushes, the client's probes, the server's own pings. A middlebox's
 * idle clock restarts at every packet, whichever side sends it.
 */
function trafficPeriodsMs(spec: ExperimentSpec): number[] {
  const { strategy: s, workload: w } = spec;
  const periods: number[] = [];
  if (w.kind !== 'idle') periods.push(1000 / w.rate);
  const probe = probeEveryMs(s, w);
  if (probe !== null) periods.push(probe);
  // Kernel keepalive probes go out only after `idle` with nothing to send or receive; a proxy's
  // kernel answers them, so they never reach the proxy's middlebox.
  if (s.kind === 'keepalive' && spec.testbed !== 'proxy') periods.push(s.idleMs);
  if (s.kind === 'ws' && s.side !== 'client') periods.push(s.pingMs);
  // nats-server's first ping comes ping_interval after the connection opened.
  if (spec.target === 'nats' && spec.warmupMs + spec.deadlineMs >= NATS_SERVER_PING_MS)
    periods.push(NATS_SERVER_PING_MS);
  return periods;
}

/**
 * nats-server's first ping to a client: `firstClientPingInterval` (2 s) plus up to 20 % jitter
 * after it connected, sent whatever ping_interval says, to measure the round trip.
 */
export const NATS_FIRST_PING_MS: Window = [2000, 2400];

/** A packet that crosses once, at a known range of times after T0 (ms): null when none. */
function oneOffPacketMs(spec: ExperimentSpec): Window | null {
  if (spec.target !== 'nats') return null;
  // The server's timer starts when it accepts, a little before the client reports itself
  // connected (after the CONNECT handshake) and the warmup starts: allow it 200 ms.
  const from = NATS_FIRST_PING_MS[0] - spec.warmupMs - 200;
  const to = NATS_FIRST_PING_MS[1] - spec.warmupMs;
  return to > 0 ? [from, to] : null;
}

/**
 * idle-timeout: from T0 the middlebox forgets the flow once no packet has crossed it for N; from
 * that moment F the path behaves as a partition (drop) or a reset (RST) would from T0, so the
 * detection comes within the fault-at-T0 window after F.
 * - A source with a period under N keeps the flow alive.
 * - One source of period G >= N: the last packet before F is that source's, which fixes the phase:
 *   the whole window is the fault-at-T0 window shifted by N.
 * - Several sources with load rho = sum(N / period) < 1: all gaps stay under N for at most
 *   (k + 1) N / (1 - rho) (there are too few packets to cover more), so F - T0 is in
 *   [N, N + (k + 1) N / (1 - rho)]. With rho >= 1 their phases decide whether a gap of N ever
 *   opens: no window.
 * - A packet that crosses once at o after T0 (nats-server's first ping) restarts the clock if the
 *   flow is still known then: with o < N that is certain, and everything moves by o; otherwise
 *   it can move the end by up to o.
 */
function idleTimeoutPrediction(spec: ExperimentSpec): Prediction {
  const { ms: n, onExpiry } = spec.idleTimeout!;
  const periods = trafficPeriodsMs(spec);
  const g = Math.min(...periods);
  if (g < n)
    return {
      window: null,
      why: `a packet crosses at least every ${sec(g)}, within the idle timeout ${sec(n)}: the middlebox never forgets the flow`,
    };
  const rho = periods.reduce((sum, p) => sum + n / p, 0);
  const list = periods.map(sec).join(', ');
  // A period at the timeout itself: a round trip's worth decides whether a request or its answer
  // is the last packet in time, which no formula knows.
  if (g - n <= toleranceMs(n))
    return {
      window: null,
      unknown: true,
      why: `a packet crosses every ${sec(g)}, within tolerance of the idle timeout ${sec(n)}: whether the flow is forgotten is a matter of milliseconds`,
    };
  if (rho >= 1 - 1e-9)
    return {
      window: null,
      unknown: true,
      why: `packets cross with periods ${list}, each at least the idle timeout ${sec(n)}: whether a gap of ${sec(n)} ever opens depends on their phases`,
    };
  // On the proxy testbed the proxy's kernel ACKs the client: only what the proxy forwards, or an
  // RST it sends, can tell the client anything.
  const proxied = spec.testbed === 'proxy' && KERNEL_ONLY.includes(spec.strategy.kind);
  const base: Prediction =
    proxied && (onExpiry === 'drop' || spec.workload.kind !== 'publish')
      ? {
          window: null,
          why: "the proxy's own kernel answers the client's data and keepalive probes, so only an application heartbeat or an RST tells",
        }
      : onExpiry === 'drop'
        ? silentPathPrediction(spec.strategy, spec.workload, spec.sysctls, spec.qos)
        : nextPacketPrediction(spec.strategy, spec.workload);
  const forgotten =
    periods.length === 0
      ? `nothing crosses, so the middlebox forgets the flow ${sec(n)} after T0`
      : `the middlebox forgets the flow ${sec(n)} after its last packet`;
  const after =
    onExpiry === 'drop' ? 'then drops its packets' : 'then answers its next packet with RST';
  if (base.window === null) return { window: null, why: `${forgotten}, ${after}; ${base.why}` };
  const k = periods.length;
  const once = oneOffPacketMs(spec);
  const extra = once ? 1 : 0;
  const last = once ? Math.max(0, once[1]) : 0;
  const shift = k <= 1 ? n + last : n + ((k + 1 + extra) * n) / (1 - rho);
  const low = once && once[0] > 0 && once[1] < n ? n + once[0] : n;
  const shifted =
    k <= 1
      ? `the window for a fault at T0 shifted by ${sec(low)}${shift > low ? ` to ${sec(shift)}` : ''}${k === 1 ? ', one source of packets fixing the phase' : ''}`
      : `packets with periods ${list} leave a gap of ${sec(n)} within ${sec(shift)} of T0`;
  const server = once
    ? `; nats-server pings once ${sec(NATS_FIRST_PING_MS[0])}-${sec(NATS_FIRST_PING_MS[1])} after the connection opened`
    : '';
  return {
    window: [low + base.window[0], shift + base.window[1]],
    why: `${forgotten}, ${after}; ${shifted}${server}. From then: ${base.why}`,
  };
}

/** Strategies that rely on the peer's kernel alone: a proxy's kernel answers for the peer. */
export const KERNEL_ONLY: readonly Strategy['kind'][] = ['none', 'keepalive', 'user-timeout'];

export function predict(spec: ExperimentSpec): Prediction {
  if (spec.own && !spec.own.declared)
    return {
      window: null,
      unknown: true,
      why: "your program's own settings are not known: describe them with --strategy (e.g. user-timeout:3s) for a predicted window",
    };
  switch (spec.fault) {
    case 'graceful':
      return {
        window: [0, IMMEDIATE_MS],
        why: 'the target closes its sockets: FIN arrives at once',
      };
    case 'kill':
      return {
        window: [0, IMMEDIATE_MS],
        why: "the target's kernel closes its sockets: FIN (or RST) arrives at once",
      };
    case 'partition':
      if (spec.testbed === 'proxy' && KERNEL_ONLY.includes(spec.strategy.kind))
        return {
          window: null,
          why: "answered by the proxy's own kernel: it ACKs the client's data and keepalive probes through the blackhole, so only an application heartbeat notices",
        };
      return silentPathPrediction(spec.strategy, spec.workload, spec.sysctls, spec.qos);
    case 'node-loss':
      // A replacement at the same address answers the old connection with RST.
      return spec.restartMs === null
        ? silentPathPrediction(spec.strategy, spec.workload, spec.sysctls, spec.qos)
        : freshHostPrediction(spec, spec.restartMs + REUSE_ALLOWANCE_MS);
    case 'reset':
      return resetPrediction(spec);
    case 'ip-reuse':
      return freshHostPrediction(spec, REUSE_ALLOWANCE_MS);
    case 'latency':
      return {
        window: null,
        why: 'delay only: the path and the peer are alive, so any detection is a false disconnect',
      };
    case 'idle-timeout':
      return idleTimeoutPrediction(spec);
    case 'proxy-dead-upstream':
      if (KERNEL_ONLY.includes(spec.strategy.kind))
        return {
          window: null,
          why: "answered by the proxy's own kernel: it ACKs the client's data and keepalive probes while its upstream is dead, so only an application heartbeat notices",
        };
      return silentPathPrediction(spec.strategy, spec.workload, spec.sysctls, spec.qos);
  }
}

export type Verdict =
  | 'measured (no prediction)'
  | 'inside'
  | 'beyond deadline'
  | 'early'
  | 'late'
  | 'not detected'
  | 'not detected (as predicted)'
  | 'detected (predicted never)';

/**
 * What a measurement may lie beyond its window before it counts as early or late: 25 ms plus 1 %
 * of the bound, for what the formulas leave out on purpose (a clock tick here and there, a round
 * trip, an event loop turning once), plus what the lab measured of its own imprecision in that
 * experiment (`LabSlack`). Everything systematic belongs in the window itself.
 */
export const toleranceMs = (boundMs: number): number => 25 + 0.01 * boundMs;

/** The lab's own imprecision in one experiment, as it measured it. */
export interface LabSlack {
  /**
   * The largest lateness of the client's and the lab target's own timers around the fault
   * (`timer_lateness_ms`): every timer and every event of theirs may come that much later.
   */
  latenessMs: number;
  /**
   * From T0 until the lab saw the fault in force (`fault_apply_ms`): the fault took hold somewhere
   * in that span, so every window may end that much later (never earlier).
   */
  applyMs: number;
}

/** The allowance on each side of a window: [below min, above max]. */
export function allowanceMs(
  window: Window,
  lab: LabSlack = { latenessMs: 0, applyMs: 0 },
): [early: number, late: number] {
  return [
    toleranceMs(window[0]) + lab.latenessMs,
    toleranceMs(window[1]) + lab.latenessMs + lab.applyMs,
  ];
}

/**
 * `deadlineMs`: when the window opens only after the deadline, not detecting is what the formula
 * says too ('beyond deadline'), not a miss.
 */
export function verdict(
  detectMs: number | null,
  window: Window | null,
  deadlineMs = Infinity,
  unknown = false,
  lab?: LabSlack,
): Verdict {
  if (unknown) return 'measured (no prediction)';
  if (window === null)
    return detectMs === null ? 'not detected (as predicted)' : 'detected (predicted never)';
  if (detectMs === null) return window[0] > deadlineMs ? 'beyond deadline' : 'not detected';
  const [early, late] = allowanceMs(window, lab);
  if (detectMs < window[0] - early) return 'early';
  if (detectMs > window[1] + late) return 'late';
  return 'inside';
}
