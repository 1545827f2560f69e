/**
 * Named settings for `halfopen run --preset <name>`: a client configured the way a known program
 * is, so its claims can be checked in the lab.
 */
export interface Preset {
  describe: string;
  target: string;
  strategy: string;
  workload: string;
}

export const PRESETS: Record<string, Preset> = {
  /**
   * The seed: a Go publisher (nats.go) on Kubernetes publishing one message a second, with
   * PingInterval 5 s and MaxPingsOutstanding 2 (NATS in docs/facts.md). nats.go's own defaults fill the rest:
   * ReconnectWait 2 s, MaxReconnect 60. Here the same settings drive nats.js, whose ping timer
   * has the same rule (stale on the tick after maxout pings went unanswered).
   */
  seed: {
    describe: 'the seed NATS publisher: 1 msg/s, ping 5s, maxout 2, reconnect wait 2s x 60',
    target: 'nats',
    strategy: 'nats:ping=5s,maxout=2,wait=2s,attempts=60',
    workload: 'publish:1',
  },
};
