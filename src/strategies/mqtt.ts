/**
 * MQTT keepalive (whole seconds; 0 disables) and reconnectPeriod, judged by one client library's
 * rule: MQTT.js's (the lab's client) unless `lib=` names another (src/strategies/mqtt-libs.ts).
 * MQTT.js from 5.6 on: PINGREQ goes out K after the last reschedule and "Keepalive timeout" comes
 * at 1.5 K; PINGRESP and received acks reschedule (MQTT in docs/facts.md).
 */
import { retransmission } from '../core/window.js';
import { BadInputError } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import {
  MQTT_LIBS,
  MQTT_RULES,
  PAHO_GO_PING_TIMEOUT_MS,
  type MqttLib,
  type MqttStrategy,
} from './mqtt-libs.js';
import { keyValues, parseChoice, positiveMs, specMs } from './parse.js';
import type { StrategyDef } from './types.js';

export { MQTT_LIBS, type MqttLib, type MqttStrategy } from './mqtt-libs.js';

/** The library `ask.lib` names, when it is one of MQTT's (an `--emit` library's rule). */
const askedLib = (lib: string | undefined): MqttLib =>
  (MQTT_LIBS as readonly string[]).includes(lib ?? '') ? (lib as MqttLib) : 'js';

export const mqtt: StrategyDef<MqttStrategy> = {
  kind: 'mqtt',
  usage: 'mqtt:keepalive=10s[,reconnect=1s][,lib=js|paho|paho-go|paho-java][,pingtimeout=10s]',
  help: "keepalive (whole seconds, 0 disables) and reconnect period; lib= names whose rule applies to your own client: js (MQTT.js, the lab's), paho (Python), paho-go (pingtimeout= is its PingTimeout), paho-java",
  keys: [
    { key: 'keepalive', required: true, help: 'MQTT keepalive (whole seconds; 0 disables it)' },
    { key: 'reconnect', default: '1s', help: 'reconnectPeriod: the pause before reconnecting' },
    {
      key: 'lib',
      default: 'js',
      help: "whose rule applies: js (MQTT.js, the lab's client); paho, paho-go, paho-java for your own",
    },
    {
      key: 'pingtimeout',
      help: `lib=paho-go only: its PingTimeout (default ${specMs(PAHO_GO_PING_TIMEOUT_MS)})`,
    },
  ],
  kernel: null,
  ownClientOnly: (s) =>
    s.lib === 'js'
      ? null
      : `lib=${s.lib} is the rule of your own client's library (--client-cmd); the lab's built-in mqtt client is MQTT.js (leave lib= out)`,
  parse(body, what) {
    const kv = keyValues(body, what, ['keepalive'], ['reconnect', 'lib', 'pingtimeout']);
    const text = kv.get('keepalive')!;
    const keepaliveMs = parseDuration(text, `${what} keepalive`);
    if (keepaliveMs % 1000 !== 0 || keepaliveMs > 65_535_000)
      throw new BadInputError(
        `${what}: keepalive '${text}' must be whole seconds from 0s to 65535s (MQTT counts keepalive in seconds; 0 disables it)`,
      );
    const lib: MqttLib = parseChoice(kv.get('lib') ?? 'js', MQTT_LIBS, `${what}: lib`);
    const pt = kv.get('pingtimeout');
    if (pt !== undefined && lib !== 'paho-go')
      throw new BadInputError(
        `${what}: pingtimeout is paho.mqtt.golang's PingTimeout (lib=paho-go); ${lib === 'js' ? 'MQTT.js' : `lib=${lib}`} has none`,
      );
    return {
      kind: 'mqtt',
      keepaliveMs,
      reconnectMs: positiveMs(kv.get('reconnect') ?? '1s', `${what} reconnect`),
      lib,
      pingTimeoutMs:
        pt === undefined ? PAHO_GO_PING_TIMEOUT_MS : positiveMs(pt, `${what} pingtimeout`),
    };
  },
  format: (s) =>
    `mqtt:keepalive=${specMs(s.keepaliveMs)},reconnect=${specMs(s.reconnectMs)}${
      s.lib === 'js' ? '' : `,lib=${s.lib}`
    }${s.lib === 'paho-go' ? `,pingtimeout=${specMs(s.pingTimeoutMs)}` : ''}`,
  probeEveryMs: (s) => (s.keepaliveMs > 0 ? s.keepaliveMs : null),
  keepaliveProbe: () => null,
  serverPingMs: () => null,
  silentPath(s, c) {
    if (s.keepaliveMs === 0) {
      const who = MQTT_RULES[s.lib].label;
      if (c.workload.kind === 'publish') {
        const r = retransmission(c);
        return { ...r, why: `${who}: keepalive 0 disables MQTT pings; ${r.why}` };
      }
      return {
        window: null,
        why: `${who}: keepalive 0 disables MQTT pings: nothing ever times out`,
      };
    }
    return MQTT_RULES[s.lib].window(s, c);
  },
  /** The rule of the library `tune` was asked to write for (`--emit`), else MQTT.js's. */
  tune: (ask) => MQTT_RULES[askedLib(ask.lib)].tune(ask),
  tuneNotes: [
    'the broker closes the client after 1.5 x keepalive of silence too (MQTT 3.1.1 3.1.2.10)',
  ],
};
