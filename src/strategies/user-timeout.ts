/** TCP_USER_TIMEOUT: unacknowledged data older than this fails (Linux TCP in docs/facts.md). */
import { sec } from '../core/window.js';
import { userTimeoutWindowMs } from '../core/tcp.js';
import { BadInputError } from '../errors.js';
import { sendGapMs } from '../core/workload.js';
import { positiveMs, specMs } from './parse.js';
import { floorTo } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export interface UserTimeoutStrategy {
  kind: 'user-timeout';
  timeoutMs: number;
}

export const userTimeout: StrategyDef<UserTimeoutStrategy> = {
  kind: 'user-timeout',
  usage: 'user-timeout:3s',
  help: 'TCP_USER_TIMEOUT: unacknowledged data older than this fails',
  keys: [],
  kernel: { sockopts: (s) => ({ userTimeoutMs: s.timeoutMs }) },
  ownClientOnly: () => null,
  parse(body, what) {
    if (!body)
      throw new BadInputError(`${what}: expected user-timeout:<duration>, e.g. user-timeout:3s`);
    return { kind: 'user-timeout', timeoutMs: positiveMs(body, what) };
  },
  format: (s) => `user-timeout:${specMs(s.timeoutMs)}`,
  probeEveryMs: () => null,
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath(s, c) {
    if (c.workload.kind !== 'publish')
      return {
        window: null,
        why: 'TCP_USER_TIMEOUT only counts unacknowledged data; an idle socket never times out',
      };
    const u = s.timeoutMs;
    const gap = sendGapMs(c.workload);
    const [min, max] = userTimeoutWindowMs(u);
    return {
      window: [min, max + gap],
      why: `TCP_USER_TIMEOUT ${sec(u)} counted from the first retransmission (within ~0.4s of the first send after T0, which comes within ${sec(gap)})`,
    };
  },
  tune(ask) {
    if (ask.workload.kind !== 'publish')
      return 'TCP_USER_TIMEOUT only counts unacknowledged data: an idle client never times out (use keepalive, above)';
    const gap = sendGapMs(ask.workload);
    // Counted from the first retransmission, within ~0.4 s of the first send after the silence,
    // which comes within one gap.
    const u = floorTo(ask.withinMs - userTimeoutWindowMs(0)[1] - gap, 100);
    if (u < ask.tolerateMs)
      return `TCP_USER_TIMEOUT must exceed what a healthy ACK may take (${sec(ask.tolerateMs)}), but ${sec(ask.withinMs)} leaves only ${sec(Math.max(u, 0))}`;
    return {
      strategy: { kind: 'user-timeout', timeoutMs: u },
      probeEveryMs: null,
      toleratesMs: u,
      why: `TCP_USER_TIMEOUT ${sec(u)}: counted from the first retransmission, within ~0.4 s of a send, which comes every ${sec(gap)}`,
    };
  },
  tuneNotes: [],
};
