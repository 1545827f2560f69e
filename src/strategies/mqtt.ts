/**
 * MQTT.js keepalive (whole seconds; 0 disables) and reconnectPeriod. From 5.6 on, PINGREQ goes
 * out K after the last reschedule and "Keepalive timeout" comes at 1.5 K; PINGRESP and received
 * acks (PUBACK, SUBACK) reschedule, sends and received messages do not (MQTT in docs/facts.md).
 */
import { retransmission, sec } from '../core/window.js';
import { BadInputError } from '../errors.js';
import { sendGapMs } from '../core/workload.js';
import { parseDuration } from '../util/duration.js';
import { keyValues, positiveMs, specMs } from './parse.js';
import { floorTo, periodCap } from './tune-kit.js';
import type { StrategyDef } from './types.js';

export interface MqttStrategy {
  kind: 'mqtt';
  keepaliveMs: number;
  reconnectMs: number;
}

export const mqtt: StrategyDef<MqttStrategy> = {
  kind: 'mqtt',
  usage: 'mqtt:keepalive=10s[,reconnect=1s]',
  help: 'MQTT.js keepalive (whole seconds, 0 disables) and reconnectPeriod',
  kernel: null,
  ownClientOnly: () => null,
  parse(body, what) {
    const kv = keyValues(body, what, ['keepalive'], ['reconnect']);
    const text = kv.get('keepalive')!;
    const keepaliveMs = parseDuration(text, `${what} keepalive`);
    if (keepaliveMs % 1000 !== 0 || keepaliveMs > 65_535_000)
      throw new BadInputError(
        `${what}: keepalive '${text}' must be whole seconds from 0s to 65535s (MQTT counts keepalive in seconds; 0 disables it)`,
      );
    return {
      kind: 'mqtt',
      keepaliveMs,
      reconnectMs: positiveMs(kv.get('reconnect') ?? '1s', `${what} reconnect`),
    };
  },
  format: (s) => `mqtt:keepalive=${specMs(s.keepaliveMs)},reconnect=${specMs(s.reconnectMs)}`,
  probeEveryMs: (s) => (s.keepaliveMs > 0 ? s.keepaliveMs : null),
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath({ keepaliveMs: k }, c) {
    if (k === 0) {
      if (c.workload.kind === 'publish') {
        const r = retransmission(c);
        return { ...r, why: `keepalive 0 disables MQTT pings; ${r.why}` };
      }
      return { window: null, why: 'keepalive 0 disables MQTT pings: nothing ever times out' };
    }
    const t = 1.5 * k;
    if (c.workload.kind === 'publish' && c.qos === 1) {
      const since = Math.min(sendGapMs(c.workload), k);
      return {
        window: [t - since, t],
        why: `MQTT.js: 1.5 x keepalive ${sec(k)} = ${sec(t)} after the last PUBACK or PINGRESP, which came within ${sec(since)} before T0: (${sec(t - since)}, ${sec(t)}]`,
      };
    }
    return {
      window: [0.5 * k, t],
      why: `MQTT.js: 1.5 x keepalive ${sec(k)} = ${sec(t)} after the last PINGRESP (nothing else reschedules it here), which came within ${sec(k)} before T0: (${sec(0.5 * k)}, ${sec(t)}]`,
    };
  },
  tune(ask) {
    // PINGREQ at K, "Keepalive timeout" at 1.5 K after the last reschedule: the PINGRESP may be
    // 0.5 K late. MQTT counts keepalive in whole seconds.
    const k = Math.min(floorTo(ask.withinMs / 1.5, 1000), floorTo(periodCap(ask), 1000));
    if (k < 1000)
      return `mqtt: keepalive is whole seconds, and 1.5 x 1s exceeds ${sec(ask.withinMs)}`;
    if (k / 2 < ask.tolerateMs)
      return `mqtt: keepalive ${sec(k)} gives up on a PINGRESP ${sec(k / 2)} late, less than the ${sec(ask.tolerateMs)} asked for`;
    return {
      strategy: { kind: 'mqtt', keepaliveMs: k, reconnectMs: 1000 },
      probeEveryMs: k,
      toleratesMs: k / 2,
      why: `MQTT.js: 1.5 x keepalive <= ${sec(ask.withinMs)} (whole seconds); a PINGRESP may be ${sec(k / 2)} late`,
    };
  },
  tuneNotes: [
    'the broker closes the client after 1.5 x keepalive of silence too (MQTT 3.1.1 3.1.2.10)',
  ],
};
