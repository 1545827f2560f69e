/**
 * Settings that notice a silent peer within a target time without calling a healthy but slow
 * peer dead: for each strategy the target's client has, the least chatty setting whose predicted
 * window on a silent path (partition, node loss) ends by the target, whose timeout still lets a
 * healthy answer be as late as the user says it can be, and whose probes cross more often than
 * the shortest idle timeout on the path. Pure: the CLI prints it and `--verify` measures it.
 * Formulas: predict.ts and shared/facts.md.
 */
import type { ExperimentSpec, Strategy, TargetName, Workload } from '../scenario/spec.js';
import { formatStrategy, TCP_KEEPALIVE_MAX_S } from '../scenario/spec.js';
import { predict, type Window } from './predict.js';
import { keepaliveWorstMs, userTimeoutWindowMs } from './tcp.js';

export interface TuneRequest {
  target: TargetName;
  workload: Workload;
  qos: 0 | 1;
  /** Notice a silent peer within this, at worst (ms after it went silent). */
  withinMs: number;
  /** A healthy peer's answer may be this late (round trip, jitter, GC and event-loop pauses). */
  tolerateMs: number;
  /** The shortest idle timeout of a middlebox on the path (a load balancer's), if known. */
  idleTimeoutMs: number | null;
}

export interface Recommendation {
  /** The strategy family, e.g. `heartbeat`, `nats`. */
  kind: Strategy['kind'];
  /** The setting, or null when no setting of this family meets the request. */
  strategy: Strategy | null;
  /** Its predicted detection window on a silent path. */
  window: Window | null;
  /** How often it puts a packet on an idle connection (what keeps a middlebox's flow alive). */
  probeEveryMs: number | null;
  /** How late a healthy answer may be before this setting calls the peer dead. */
  toleratesMs: number | null;
  /** How the numbers were chosen, or why none fit. */
  why: string;
  /** What else the user must know (a server's ping policy, a publishing socket). */
  notes: string[];
}

/** A probe period is kept this far below a middlebox's idle timeout, for jitter and a lost probe. */
export const IDLE_MARGIN = 0.8;

const floorTo = (ms: number, step: number): number => Math.floor(ms / step) * step;
const ceilTo = (ms: number, step: number): number => Math.ceil(ms / step) * step;
const sec = (ms: number): string => `${+(ms / 1000).toFixed(3)}s`;

/** The experiment that measures a setting for this request: a partition, or a slow path. */
export function tuneSpec(
  req: Pick<TuneRequest, 'target' | 'workload' | 'qos'>,
  strategy: Strategy,
  fault: 'partition' | 'latency',
  testbed: 'netns' | 'proxy',
  deadlineMs: number,
  latency?: { ms: number; jitterMs: number },
): ExperimentSpec {
  return {
    testbed,
    target: req.target,
    strategy,
    workload: req.workload,
    fault,
    healMs: null,
    restartMs: null,
    ...(latency ? { latency } : {}),
    qos: req.qos,
    deadlineMs,
    warmupMs: 1000,
    sysctls: {},
  };
}

/** The predicted window of a strategy on a silent path, as the runner would predict it. */
function silentWindow(req: TuneRequest, strategy: Strategy): Window | null {
  return predict(tuneSpec(req, strategy, 'partition', 'netns', req.withinMs)).window;
}

/** The longest probe period the path allows (Infinity without a middlebox). */
function periodCap(req: TuneRequest): number {
  return req.idleTimeoutMs === null ? Infinity : req.idleTimeoutMs * IDLE_MARGIN;
}

/** A setting as a family's rule makes it, before its window is checked. */
interface Made {
  strategy: Strategy;
  probeEveryMs: number | null;
  toleratesMs: number;
  why: string;
  notes?: string[];
}

function recommend(
  req: TuneRequest,
  kind: Strategy['kind'],
  make: () => Made | string,
  notes: string[] = [],
): Recommendation {
  const made = make();
  if (typeof made !== 'string') notes = [...(made.notes ?? []), ...notes];
  if (typeof made === 'string')
    return {
      kind,
      strategy: null,
      window: null,
      probeEveryMs: null,
      toleratesMs: null,
      why: made,
      notes,
    };
  const window = silentWindow(req, made.strategy);
  if (window === null || window[1] > req.withinMs)
    return {
      kind,
      strategy: null,
      window,
      probeEveryMs: null,
      toleratesMs: null,
      why: `${formatStrategy(made.strategy)} would notice ${window ? `only by ${sec(window[1])}` : 'never'}: ${made.why}`,
      notes,
    };
  const { strategy, probeEveryMs, toleratesMs, why } = made;
  return { kind, strategy, window, probeEveryMs, toleratesMs, why, notes };
}

/**
 * A request/response heartbeat (the TCP client's, ws, HTTP/2, gRPC): it waits `timeout` for each
 * answer, and the first unanswered probe goes out within `period` of the silence, so the worst
 * case is period + timeout. The timeout is what a healthy answer may take; the rest is period.
 */
function pingTimeout(
  req: TuneRequest,
  build: (periodMs: number, timeoutMs: number) => Strategy,
  what: string,
): Made | string {
  const timeout = ceilTo(req.tolerateMs, 100);
  const period = Math.min(floorTo(req.withinMs - timeout, 100), floorTo(periodCap(req), 100));
  if (period < 100)
    return `${what}: a timeout of ${sec(timeout)} (what a healthy answer may take) leaves no time to probe within ${sec(req.withinMs)}`;
  const capped = period < floorTo(req.withinMs - timeout, 100);
  return {
    strategy: build(period, timeout),
    probeEveryMs: period,
    toleratesMs: timeout,
    why: `${what}: timeout ${sec(timeout)} for a late answer, probe every ${sec(period)}${capped ? ` (under ${IDLE_MARGIN * 100} % of the path's idle timeout)` : ''}: at worst ${sec(period + timeout)}`,
  };
}

function tcpRecommendations(req: TuneRequest): Recommendation[] {
  const publishing = req.workload.kind === 'publish';
  const gapMs = publishing ? 1000 / (req.workload as { rate: number }).rate : 0;
  const keepalive = recommend(req, 'keepalive', () => {
    if (publishing)
      return 'keepalive probes only an idle socket (nothing unacknowledged): a publishing client needs user-timeout (below), or both';
    // At least two probes (one may be lost), spaced so that together they wait as long as a
    // healthy ACK may take; of those, the count that leaves the longest idle time.
    const cap = Math.min(floorTo(periodCap(req), 1000), TCP_KEEPALIVE_MAX_S * 1000);
    let best: { count: number; interval: number; idle: number } | null = null;
    for (let count = 2; count <= 9; count++) {
      const interval = Math.max(1000, ceilTo(req.tolerateMs / count, 1000));
      if (interval > TCP_KEEPALIVE_MAX_S * 1000) continue;
      // The kernel's timers may each fire a timer-wheel step late (tcp.ts keepaliveWorstMs).
      let idle = Math.min(floorTo(req.withinMs - count * interval, 1000), cap);
      while (idle >= 1000 && keepaliveWorstMs(idle, interval, count) > req.withinMs) idle -= 1000;
      if (idle >= 1000 && (!best || idle > best.idle)) best = { count, interval, idle };
    }
    if (!best)
      return cap < 1000
        ? `keepalive counts whole seconds: the path's idle timeout leaves less than 1s between probes`
        : `keepalive counts whole seconds: 2 or more probes that wait ${sec(req.tolerateMs)} together leave no idle time within ${sec(req.withinMs)}`;
    const { count, interval, idle } = best;
    return {
      strategy: { kind: 'keepalive', idleMs: idle, intervalMs: interval, count },
      probeEveryMs: idle,
      toleratesMs: count * interval,
      why: `keepalive (whole seconds): ${count} probes ${sec(interval)} apart tolerate a ${sec(count * interval)} late ACK; idle ${sec(idle)} fills the rest${idle === cap ? " (capped by the path's idle timeout)" : ''}: at worst ${sec(keepaliveWorstMs(idle, interval, count))}, with the kernel timers' steps`,
      notes: [
        `for data in flight set TCP_USER_TIMEOUT to ${sec(idle + count * interval)} too: with keepalive on, Linux uses it in place of the probe count`,
      ],
    };
  });
  const userTimeout = recommend(req, 'user-timeout', () => {
    if (!publishing)
      return 'TCP_USER_TIMEOUT only counts unacknowledged data: an idle client never times out (use keepalive, above)';
    // Counted from the first retransmission, within ~0.4 s of the first send after the silence,
    // which comes within one gap.
    const u = floorTo(req.withinMs - userTimeoutWindowMs(0)[1] - gapMs, 100);
    if (u < req.tolerateMs)
      return `TCP_USER_TIMEOUT must exceed what a healthy ACK may take (${sec(req.tolerateMs)}), but ${sec(req.withinMs)} leaves only ${sec(Math.max(u, 0))}`;
    return {
      strategy: { kind: 'user-timeout', timeoutMs: u },
      probeEveryMs: null,
      toleratesMs: u,
      why: `TCP_USER_TIMEOUT ${sec(u)}: counted from the first retransmission, within ~0.4 s of a send, which comes every ${sec(gapMs)}`,
    };
  });
  const heartbeat = recommend(req, 'heartbeat', () =>
    pingTimeout(req, (p, t) => ({ kind: 'heartbeat', intervalMs: p, timeoutMs: t }), 'heartbeat'),
  );
  return [heartbeat, keepalive, userTimeout];
}

function natsRecommendation(req: TuneRequest): Recommendation {
  return recommend(
    req,
    'nats',
    () => {
      // nats.js: stale on the tick that finds maxPingOut (m) pings unanswered, (m + 1) ticks at
      // worst; a healthy PONG may be up to m ticks late. The smallest m that tolerates enough
      // pings least often.
      const cap = floorTo(periodCap(req), 100);
      for (let maxOut = 1; maxOut <= 10; maxOut++) {
        const ping = Math.min(floorTo(req.withinMs / (maxOut + 1), 100), cap);
        if (ping < 100) break;
        if (maxOut * ping < req.tolerateMs) continue;
        return {
          strategy: { kind: 'nats', pingMs: ping, maxOut, waitMs: 2000, attempts: -1 },
          probeEveryMs: ping,
          toleratesMs: maxOut * ping,
          why: `nats.js: stale on the tick that finds maxPingOut ${maxOut} unanswered: (maxout + 1) x ping <= ${sec(req.withinMs)}${ping === cap ? " (ping capped by the path's idle timeout)" : ''}; a PONG may be ${sec(maxOut * ping)} late`,
        };
      }
      return `nats: no maxPingOut up to 10 lets a PONG be ${sec(req.tolerateMs)} late with pings ${cap < Infinity ? `under ${sec(cap)} ` : ''}that notice within ${sec(req.withinMs)}`;
    },
    ['attempts=-1 keeps reconnecting (the default gives up after 10 attempts, nats.node #173)'],
  );
}

function mqttRecommendation(req: TuneRequest): Recommendation {
  return recommend(
    req,
    'mqtt',
    () => {
      // MQTT.js: PINGREQ at K, "Keepalive timeout" at 1.5 K after the last reschedule: the
      // PINGRESP may be 0.5 K late. MQTT counts keepalive in whole seconds.
      const k = Math.min(floorTo(req.withinMs / 1.5, 1000), floorTo(periodCap(req), 1000));
      if (k < 1000)
        return `mqtt: keepalive is whole seconds, and 1.5 x 1s exceeds ${sec(req.withinMs)}`;
      if (k / 2 < req.tolerateMs)
        return `mqtt: keepalive ${sec(k)} gives up on a PINGRESP ${sec(k / 2)} late, less than the ${sec(req.tolerateMs)} asked for`;
      return {
        strategy: { kind: 'mqtt', keepaliveMs: k, reconnectMs: 1000 },
        probeEveryMs: k,
        toleratesMs: k / 2,
        why: `MQTT.js: 1.5 x keepalive <= ${sec(req.withinMs)} (whole seconds); a PINGRESP may be ${sec(k / 2)} late`,
      };
    },
    ['the broker closes the client after 1.5 x keepalive of silence too (MQTT 3.1.1 3.1.2.10)'],
  );
}

export function tune(req: TuneRequest): Recommendation[] {
  switch (req.target) {
    case 'tcp':
      return tcpRecommendations(req);
    case 'nats':
      return [natsRecommendation(req)];
    case 'mqtt':
      return [mqttRecommendation(req)];
    case 'ws':
      return [
        recommend(req, 'ws', () =>
          pingTimeout(
            req,
            (p, t) => ({ kind: 'ws', pingMs: p, timeoutMs: t, side: 'client' }),
            'ws',
          ),
        ),
      ];
    case 'h2':
      return [
        recommend(req, 'h2', () =>
          pingTimeout(req, (p, t) => ({ kind: 'h2', pingMs: p, timeoutMs: t }), 'http2'),
        ),
      ];
    case 'grpc':
      return [
        recommend(
          req,
          'grpc',
          () =>
            pingTimeout(
              req,
              (p, t) => ({ kind: 'grpc', timeMs: p, timeoutMs: t, withoutCalls: true }),
              'grpc-js keepalive',
            ),
          [
            'without-calls=true: grpc-js pings only while a call is active otherwise',
            'C-core and Go servers refuse pings more often than every 5 min without data (GOAWAY too_many_pings) unless they allow it; grpc-js then doubles its keepalive time',
          ],
        ),
      ];
  }
}
