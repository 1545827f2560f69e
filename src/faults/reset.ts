/**
 * A middlebox forgets the flow and answers it with RST: the router rejects the established
 * connection's packets (both directions) with a TCP reset. New connections pass.
 */
import { immediate, nextPacketPrediction } from './paths.js';
import { PTO_MAX_MS } from '../core/tcp.js';
import { sec, type Prediction } from '../core/window.js';
import { PROTOCOLS } from '../protocols/index.js';
import type { FaultSpec } from './spec.js';
import { addToxics, count } from './shared.js';
import type { FaultDef } from './types.js';

/**
 * Clients whose socket keeps Nagle's algorithm on (MQTT.js; your own program may do either). When
 * the rule cuts off the ACK of the client's last segment (which crossed just before it), Nagle
 * holds every later small write until that ACK comes, which it never does, and only the tail loss
 * probe, PTO = 2 srtt + 200 ms after that segment (tcp_schedule_loss_probe(), one segment in
 * flight), puts a packet on the wire to draw the RST. Measured: MQTT.js publishing 20 a second,
 * the probe 208 ms after its last segment carried the four messages held since.
 */
function resetWithNagle(spec: FaultSpec): Prediction {
  const p = nextPacketPrediction(spec);
  const nagle = spec.own !== undefined || PROTOCOLS[spec.target].nagle;
  if (!nagle || p.window === null || p.window[1] >= PTO_MAX_MS) return p;
  return {
    window: [p.window[0], PTO_MAX_MS],
    why: `${p.why}; or, when the fault cut off the ACK of the segment before it, Nagle's algorithm (no TCP_NODELAY) holds it until the tail loss probe, within ${sec(PTO_MAX_MS)}`,
  };
}

export const reset: FaultDef = {
  summary:
    "router answers the connection's next packet (either direction) with TCP RST; new connections pass",
  params: [],
  testbeds: {
    netns: {
      needsFlow: true,
      async apply(ctx) {
        const { client: c, server: s } = ctx.flow;
        const armed = await ctx.router.armRules('reset', [
          `FORWARD -p tcp -s ${c.address}/32 --sport ${c.port} -d ${s.address}/32 --dport ${s.port} -j REJECT --reject-with tcp-reset`,
          `FORWARD -p tcp -s ${s.address}/32 --sport ${s.port} -d ${c.address}/32 --dport ${c.port} -j REJECT --reject-with tcp-reset`,
        ]);
        ctx.mark({ type: 'fault', name: 'reset', phase: 'start' });
        await armed.commit();
        ctx.mark({ type: 'fault', name: 'reset', phase: 'applied' });
      },
      describe: ({ wire }) =>
        `router answered ${count(wire, 'reset:0')} client packets and ${count(wire, 'reset:1')} server packets with RST`,
      predict: resetWithNagle,
    },
    proxy: {
      apply: (ctx) =>
        addToxics(ctx, 'reset', [{ name: 'reset', type: 'reset_peer', stream: 'downstream' }]),
      describe: () => 'the fault proxy reset the connection (RST to both sides)',
      // reset_peer resets both sides the moment it arrives, whatever the client sends.
      predict: () => immediate('the fault proxy sends RST to both sides at once'),
    },
  },
  reconnectFrom: 'detection',
  takesSink: false,
  peerAlive: false,
  predict: nextPacketPrediction,
};
