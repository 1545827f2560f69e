/**
 * What a client notices on each kind of broken path, whatever broke it: a silent path, a path
 * that answers the next packet with RST, and silence until a fresh host takes the server's
 * address. Faults compose their predictions from these. Pure; facts in docs/facts.md.
 */
import type { FaultSpec } from './spec.js';
import { sendGapMs } from '../core/workload.js';
import {
  isKernelOnly,
  keepaliveProbe,
  probeEveryMs,
  silentPath,
  type Strategy,
} from '../strategies/index.js';
import { nextRetransmissionBoundMs, timerSlackMs } from '../core/tcp.js';
import { sec, type PathContext, type Prediction } from '../core/window.js';

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

const pathOf = (spec: FaultSpec): PathContext => ({
  workload: spec.workload,
  sysctls: spec.sysctls,
  qos: spec.qos,
});

/** No packet reaches the client after T0: only timers on the client can notice. */
export const silentPathPrediction = (spec: FaultSpec): Prediction =>
  silentPath(spec.strategy, pathOf(spec));

/**
 * A userland proxy in the path answers the client's data and keepalive probes with its own
 * kernel: a strategy that relies on the peer's kernel alone never hears of a dead upstream.
 */
export const answeredByProxy = (s: Strategy): boolean => isKernelOnly(s);

/** The path answers the next packet with RST: the client notices when it next sends. */
export function nextPacketPrediction(spec: FaultSpec): Prediction {
  const { strategy: s, workload: w } = spec;
  if (w.kind === 'publish')
    return {
      window: [0, sendGapMs(w)],
      why: `RST answers the next message, sent within ${sec(sendGapMs(w))}`,
    };
  // A subscriber sends nothing of its own: what the far side sends draws the RST to the far side.
  const every = probeEveryMs(s, w);
  if (every !== null)
    return { window: [0, every], why: `RST answers the next ping, sent within ${sec(every)}` };
  const kernel = keepaliveProbe(s);
  if (kernel) {
    const max = kernel.idleMs + timerSlackMs(kernel.idleMs);
    return {
      window: [0, max],
      why: `RST answers the next keepalive probe, within idle ${sec(kernel.idleMs)} and one timer-wheel step: ${sec(max)}`,
    };
  }
  if (isKernelOnly(s))
    return {
      window: null,
      why: 'an idle client without probes sends nothing, so no RST ever comes back',
    };
  // No ping of its own: only a timer that waits for the peer (ws side=server) can notice.
  const silent = silentPath(s, { ...pathOf(spec), sysctls: {}, qos: 0 });
  return {
    window: silent.window,
    why: `the client sends nothing, so no RST comes back; ${silent.why}`,
  };
}

/**
 * Silence until a fresh host is up at the server's address (ip-reuse: at once; node-loss with
 * `--restart`: the replacement), then the first packet of the old connection that reaches it draws
 * an RST; whichever comes first, the client's own timer or that RST, is the detection.
 */
export function freshHostPrediction(spec: FaultSpec, upByMs: number): Prediction {
  const silent = silentPathPrediction(spec);
  const r = upByMs;
  const s = spec.strategy;
  const probe = probeEveryMs(s, spec.workload);
  const kernel = keepaliveProbe(s);
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
  } else if (kernel) {
    const every = Math.max(kernel.idleMs, kernel.intervalMs);
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

/** The target closed its side: FIN (or RST) crosses at once. */
export const immediate = (why: string): Prediction => ({ window: [0, IMMEDIATE_MS], why });
