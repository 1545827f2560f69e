/**
 * A proxy or sidecar in the path whose upstream died silently: the client talks to a proxy,
 * which stays healthy. The client's TCP sees a live peer (the proxy's kernel), so only what
 * crosses the proxy end to end, pings and acks, can notice.
 */
import { answeredByProxy, silentPathPrediction } from './paths.js';
import { LabError } from '../errors.js';
import { within } from '../util/clock.js';
import { addToxics, bothWays, count, loseNode } from './shared.js';
import type { FaultDef } from './types.js';

export const proxyDeadUpstream: FaultDef = {
  summary:
    "the client's connection ends at a proxy in the router, which stays healthy; the router drops everything between the proxy and the server, then the target is killed behind the drop",
  params: [],
  testbeds: {
    netns: {
      /** The proxy in the path: listens on the router's client side, forwards to the server. */
      async prepare(router) {
        const config = {
          listen: `${router.addr.routerClientSide}:${router.targetPort}`,
          upstream: `${router.addr.server}:${router.targetPort}`,
        };
        const entry = new URL('../proxy/forward.js', import.meta.url).pathname;
        const proc = router.spawn([process.execPath, entry, JSON.stringify(config)], 'path proxy');
        let ready = false;
        const line = new Promise<void>((resolve) =>
          proc.stdout.once('data', () => {
            ready = true;
            resolve();
          }),
        );
        await within(Promise.race([line, proc.exited]), 10_000);
        if (!ready) throw new LabError(`the path proxy did not start: ${proc.stderrTail().trim()}`);
        return { host: router.addr.routerClientSide };
      },
      async apply(ctx) {
        // The proxy's own traffic to the server leaves and enters the router: OUTPUT and INPUT.
        await loseNode(ctx, 'proxy-dead-upstream', {
          tag: 'proxy-dead-upstream',
          out: 'OUTPUT',
          in: 'INPUT',
        });
        ctx.mark({ type: 'fault', name: 'proxy-dead-upstream', phase: 'applied' });
      },
      describe: ({ wire }) =>
        `the proxy in the router stayed healthy; the router dropped ${count(wire, 'proxy-dead-upstream:0')} of its packets to the server and ${count(wire, 'proxy-dead-upstream:1')} from it; the target was killed behind the drop`,
    },
    proxy: {
      // The fault proxy is already in the path: its upstream goes silent and stays so.
      apply: (ctx) => addToxics(ctx, 'proxy-dead-upstream', bothWays('dead', 'blackhole')),
      describe: () =>
        "the fault proxy's upstream went silent both ways; the client's side stayed healthy",
    },
  },
  reconnectFrom: null,
  takesSink: false,
  peerAlive: false,
  predict(spec) {
    if (answeredByProxy(spec.strategy))
      return {
        window: null,
        why: "answered by the proxy's own kernel: it ACKs the client's data and keepalive probes while its upstream is dead, so only an application heartbeat notices",
      };
    return silentPathPrediction(spec);
  },
};
