/** A slow or jittery path: every chunk delayed. Any detection is a false disconnect. */
import { LATENCY } from './params.js';
import { addToxics, bothWays } from './shared.js';
import type { FaultDef } from './types.js';

export const latency: FaultDef = {
  summary: 'proxy testbed: the fault proxy delays every chunk by --latency (+- --jitter) each way',
  params: [LATENCY],
  // netns would need netem (sch_netem), which not every kernel has: this one has not.
  testbeds: {
    proxy: {
      apply(ctx) {
        const { ms = 0, jitterMs = 0 } = ctx.spec.latency ?? {};
        const attributes = { latency: ms, jitter: jitterMs };
        return addToxics(ctx, 'latency', bothWays('latency', 'latency', attributes), 'all');
      },
      describe: (r) =>
        `the fault proxy delayed every chunk by ${r.latency?.ms ?? 0} ms (+- ${r.latency?.jitter_ms ?? 0} ms) each way`,
    },
  },
  reconnectFrom: null,
  takesSink: false,
  peerAlive: true,
  predict: () => ({
    window: null,
    why: 'delay only: the path and the peer are alive, so any detection is a false disconnect',
  }),
};
