/**
 * A stateful middlebox (a cloud load balancer, a NAT gateway, a firewall) forgets flows that stay
 * idle too long; the next packet of a forgotten flow is dropped or answered with RST.
 */
import { answeredByProxy, nextPacketPrediction, silentPathPrediction } from './paths.js';
import { sec, toleranceMs, type Prediction, type Window } from '../core/window.js';
import { BadInputError, LabError } from '../errors.js';
import { PROTOCOLS } from '../protocols/index.js';
import type { FaultSpec, IdleTimeout } from './spec.js';
import { keepaliveProbe, probeEveryMs, serverPingMs } from '../strategies/index.js';
import { formatDuration, formatMs } from '../util/duration.js';
import { IDLE_TIMEOUT } from './params.js';
import { addToxics, bothWays, count } from './shared.js';
import type { FaultDef } from './types.js';

/** The rule tag of the middlebox's answer to a forgotten flow's packets (for counters). */
const TAG = 'idle-timeout';

const idleOf = (spec: FaultSpec): IdleTimeout => spec.idleTimeout ?? { ms: 0, onExpiry: 'drop' };

/**
 * Each periodic source of packets on the client's flow, as its period in ms: the client's
 * messages, the far side's pushes, the client's probes, the server's own pings. A middlebox's
 * idle clock restarts at every packet, whichever side sends it.
 */
function trafficPeriodsMs(spec: FaultSpec): number[] {
  const { strategy: s, workload: w } = spec;
  const periods: number[] = [];
  if (w.kind !== 'idle') periods.push(1000 / w.rate);
  const probe = probeEveryMs(s, w);
  if (probe !== null) periods.push(probe);
  // Kernel keepalive probes go out only after `idle` with nothing to send or receive; a proxy's
  // kernel answers them, so they never reach the proxy's middlebox.
  const kernel = keepaliveProbe(s);
  if (kernel && spec.testbed !== 'proxy') periods.push(kernel.idleMs);
  const server = serverPingMs(s);
  if (server !== null) periods.push(server);
  // A server's own periodic ping (nats-server's every ping_interval) within the experiment.
  const own = PROTOCOLS[spec.target].serverPings;
  if (own && spec.warmupMs + spec.deadlineMs >= own.everyMs) periods.push(own.everyMs);
  return periods;
}

/** A packet that crosses once, at a known range of times after T0 (ms): null when none. */
function oneOffPacketMs(spec: FaultSpec): Window | null {
  const first = PROTOCOLS[spec.target].serverPings?.firstMs;
  if (!first) return null;
  // The server's timer starts when it accepts, a little before the client reports itself
  // connected (after the protocol's handshake) and the warmup starts: allow it 200 ms.
  const from = first[0] - spec.warmupMs - 200;
  const to = first[1] - spec.warmupMs;
  return to > 0 ? [from, to] : null;
}

/**
 * From T0 the middlebox forgets the flow once no packet has crossed it for N; from that moment F
 * the path behaves as a partition (drop) or a reset (RST) would from T0, so the detection comes
 * within the fault-at-T0 window after F.
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
function predictIdleTimeout(spec: FaultSpec): Prediction {
  const { ms: n, onExpiry } = idleOf(spec);
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
  const proxied = spec.testbed === 'proxy' && answeredByProxy(spec.strategy);
  const base: Prediction =
    proxied && (onExpiry === 'drop' || spec.workload.kind !== 'publish')
      ? {
          window: null,
          why: "the proxy's own kernel answers the client's data and keepalive probes, so only an application heartbeat or an RST tells",
        }
      : onExpiry === 'drop'
        ? silentPathPrediction(spec)
        : nextPacketPrediction(spec);
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
  const first = PROTOCOLS[spec.target].serverPings?.firstMs;
  const server =
    once && first
      ? `; the server pings once ${sec(first[0])}-${sec(first[1])} after the connection opened`
      : '';
  return {
    window: [low + base.window[0], shift + base.window[1]],
    why: `${forgotten}, ${after}; ${shifted}${server}. From then: ${base.why}`,
  };
}

export const idleTimeout: FaultDef = {
  summary:
    'the router (a stateful middlebox) forgets a flow idle for --idle-timeout: its next packet is dropped (--on-expiry drop) or answered with RST (reset); new connections pass',
  params: [IDLE_TIMEOUT],
  testbeds: {
    netns: {
      tools: ['conntrack'],
      /**
       * The router tracks every flow from the first SYN (the rule below turns its conntrack on)
       * and never picks one up mid-stream (nf_conntrack_tcp_loose=0), so a packet of a flow it
       * has forgotten is INVALID and meets this rule. Until the fault, entries live the kernel's
       * default (5 days).
       */
      async prepare(router, spec) {
        const answer =
          idleOf(spec).onExpiry === 'reset' ? 'REJECT --reject-with tcp-reset' : 'DROP';
        await router.addRules(TAG, [`FORWARD -p tcp -m conntrack --ctstate INVALID -j ${answer}`]);
        await router.sysctl('net.netfilter.nf_conntrack_tcp_loose', 0);
        return null;
      },
      /**
       * At T0 the router's established-flow timeout becomes the idle timeout, for new flows and
       * for the entries it already holds: a flow is forgotten once no packet crossed it that long.
       */
      async apply(ctx) {
        const seconds = Math.round(idleOf(ctx.spec).ms / 1000);
        ctx.mark({ type: 'fault', name: 'idle-timeout', phase: 'start' });
        await ctx.router.sysctl('net.netfilter.nf_conntrack_tcp_timeout_established', seconds);
        // Every flow from the client's address (conntrack 1.4.7 cannot update without a filter).
        // It exits 1 when none matched (a client between connections): nothing to shorten then.
        const { stdout, stderr } = await ctx.router.exec(
          [
            'conntrack',
            '-U',
            '-p',
            'tcp',
            '-s',
            ctx.router.addr.client,
            '--timeout',
            String(seconds),
          ],
          { allowFail: true },
        );
        if (!/\d+ flow entries have been updated/.test(`${stdout}${stderr}`))
          throw new LabError(`conntrack could not shorten the flow timeout: ${stderr.trim()}`);
        ctx.mark({ type: 'fault', name: 'idle-timeout', phase: 'applied' });
      },
      describe({ wire, idle_timeout: t }) {
        const answered = count(wire, `${TAG}:0`);
        const idle = t ? formatMs(t.ms) : '?';
        return t?.on_expiry === 'reset'
          ? `the router forgot flows idle for ${idle} and answered ${answered} of their packets with RST`
          : `the router forgot flows idle for ${idle} and dropped ${answered} of their packets`;
      },
    },
    proxy: {
      apply(ctx) {
        const { ms, onExpiry } = idleOf(ctx.spec);
        const attributes = { timeout: ms, reset: onExpiry === 'reset' ? 1 : 0 };
        return addToxics(ctx, 'idle-timeout', bothWays('idle', 'idle_timeout', attributes), 'all');
      },
      describe: ({ idle_timeout: t }) =>
        `the fault proxy forgot connections idle for ${formatMs(t?.ms ?? 0)} and ${t?.on_expiry === 'reset' ? 'reset the sender of whatever came next' : 'dropped whatever came next'}`,
    },
  },
  // Only the one flow is forgotten: a new connection passes at once.
  reconnectFrom: 'detection',
  takesSink: false,
  peerAlive: false,
  validate(spec) {
    const { ms } = idleOf(spec);
    // conntrack keeps its timeouts in whole seconds.
    if (spec.testbed === 'netns' && (ms < 1000 || ms % 1000 !== 0))
      throw new BadInputError(
        `--idle-timeout ${formatDuration(ms)} must be whole seconds from 1s on the netns testbed (conntrack counts seconds)`,
      );
    if (ms < 100 || ms > 6 * 3_600_000)
      throw new BadInputError(`--idle-timeout ${formatDuration(ms)} must be from 100ms to 6h`);
  },
  predict: predictIdleTimeout,
};
