/**
 * How each MQTT client library decides a broker is gone: when it sends PINGREQ, and when it gives
 * up. The rules differ (which traffic resets the timer, how often it is checked), so the same
 * keepalive gives different windows; `mqtt:...,lib=` names the library whose rule applies. The
 * sources are in docs/facts.md (MQTT client libraries).
 */
import { sec, type PathContext, type Prediction } from '../core/window.js';
import { sendGapMs } from '../core/workload.js';
import { floorTo, periodCap, type Made, type TuneAsk } from './tune-kit.js';

export const MQTT_LIBS = ['js', 'paho', 'paho-go', 'paho-java'] as const;
export type MqttLib = (typeof MQTT_LIBS)[number];

export interface MqttStrategy {
  kind: 'mqtt';
  keepaliveMs: number;
  reconnectMs: number;
  /** Whose rule applies: MQTT.js (the lab's client) unless your own client uses another. */
  lib: MqttLib;
  /** paho.mqtt.golang's PingTimeout (SetPingTimeout); the other libraries have none. */
  pingTimeoutMs: number;
}

/** paho.mqtt.golang's default PingTimeout (options.go NewClientOptions). */
export const PAHO_GO_PING_TIMEOUT_MS = 10_000;

/**
 * paho-mqtt (Python) checks keepalive on each pass of its network loop; loop_start's thread runs
 * loop_forever, whose select() waits at most 1 s.
 */
export const PAHO_PY_TICK_MS = 1000;

interface Rule {
  /** The library as the window's explanation names it. */
  readonly label: string;
  window(s: MqttStrategy, c: PathContext): Prediction;
  tune(ask: TuneAsk): Made<MqttStrategy> | string;
}

const build = (lib: MqttLib, keepaliveMs: number, pingTimeoutMs = PAHO_GO_PING_TIMEOUT_MS) => ({
  kind: 'mqtt' as const,
  keepaliveMs,
  reconnectMs: 1000,
  lib,
  pingTimeoutMs,
});

/**
 * How long before T0 the last packet from the broker came: within a send gap when a QoS 1
 * publisher gets PUBACKs, else anywhere within a keepalive (only PINGRESPs arrive).
 */
function lastIn(k: number, c: PathContext): { since: number; what: string } {
  return c.workload.kind === 'publish' && c.qos === 1
    ? { since: Math.min(sendGapMs(c.workload), k), what: 'PUBACK' }
    : { since: k, what: 'PINGRESP' };
}

/** MQTT.js from 5.6 on: PINGREQ K after the last reschedule, "Keepalive timeout" at 1.5 K. */
const js: Rule = {
  label: 'MQTT.js',
  window({ keepaliveMs: k }, c) {
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
    // 0.5 K late.
    const k = Math.min(floorTo(ask.withinMs / 1.5, 1000), floorTo(periodCap(ask), 1000));
    if (k < 1000)
      return `mqtt: keepalive is whole seconds, and 1.5 x 1s exceeds ${sec(ask.withinMs)}`;
    if (k / 2 < ask.tolerateMs)
      return `mqtt: keepalive ${sec(k)} gives up on a PINGRESP ${sec(k / 2)} late, less than the ${sec(ask.tolerateMs)} asked for`;
    return {
      strategy: build('js', k),
      probeEveryMs: k,
      toleratesMs: k / 2,
      why: `MQTT.js: 1.5 x keepalive <= ${sec(ask.withinMs)} (whole seconds); a PINGRESP may be ${sec(k / 2)} late`,
    };
  },
};

/**
 * paho-mqtt (Python) 1.x and 2.x, client.py: _check_keepalive sends PINGREQ once keepalive has
 * passed since the last packet sent or received, but _packet_write stamps the last send only when
 * a write returns 0 bytes, so in practice only connect and PINGREQ count as sends: it pings every
 * keepalive whatever the traffic. loop_misc closes the socket keepalive after an unanswered
 * PINGREQ. Both run on a pass of the network loop.
 */
const paho: Rule = {
  label: 'paho-mqtt (Python)',
  window({ keepaliveMs: k }) {
    const tick = PAHO_PY_TICK_MS;
    return {
      window: [k, 2 * k + 2 * tick],
      why: `paho-mqtt (Python): PINGREQ every keepalive ${sec(k)} whatever the traffic (the last went out within ${sec(k)} + ${sec(tick)} before T0), close ${sec(k)} after the first unanswered one, each on a pass of its network loop (at least every ${sec(tick)}): (${sec(k)}, ${sec(2 * k + 2 * tick)}]`,
    };
  },
  tune(ask) {
    const k = Math.min(
      floorTo((ask.withinMs - 2 * PAHO_PY_TICK_MS) / 2, 1000),
      floorTo(periodCap(ask), 1000),
    );
    if (k < 1000)
      return `mqtt (paho-mqtt Python): 2 x keepalive + 2 x its ${sec(PAHO_PY_TICK_MS)} loop exceeds ${sec(ask.withinMs)} even at keepalive 1s`;
    if (k < ask.tolerateMs)
      return `mqtt (paho-mqtt Python): keepalive ${sec(k)} gives up on a PINGRESP ${sec(k)} late, less than the ${sec(ask.tolerateMs)} asked for`;
    return {
      strategy: build('paho', k),
      probeEveryMs: k,
      toleratesMs: k,
      why: `paho-mqtt (Python): PINGREQ every keepalive, close keepalive after an unanswered one: 2 x keepalive + 2 x ${sec(PAHO_PY_TICK_MS)} (its loop) <= ${sec(ask.withinMs)} (whole seconds); a PINGRESP may be ${sec(k)} late`,
    };
  },
};

/** paho.mqtt.golang ping.go: how often keepalive() looks (a ticker), K in whole seconds. */
export const pahoGoCheckMs = (k: number): number => (k > 10_000 ? 5000 : k / 4);

/**
 * ping.go: on a tick, PINGREQ if keepalive passed with nothing sent or nothing received and no
 * ping is outstanding; on a later tick, disconnect once PingTimeout has passed since it went out.
 * pingSent is stamped just after the tick, so the tick that sees PingTimeout passed is the first
 * one strictly more than PingTimeout after the ping's.
 */
function pahoGoBounds(k: number, pt: number): { check: number; giveUp: number } {
  const check = pahoGoCheckMs(k);
  return { check, giveUp: (Math.floor(pt / check) + 1) * check };
}

const pahoGo: Rule = {
  label: 'paho.mqtt.golang',
  window({ keepaliveMs: k, pingTimeoutMs: pt }, c) {
    const { since, what } = lastIn(k, c);
    const { check, giveUp } = pahoGoBounds(k, pt);
    return {
      window: [k - since + giveUp, k + check + giveUp],
      why: `paho.mqtt.golang: PINGREQ on the first check (every ${sec(check)}) keepalive ${sec(k)} after the last packet received, disconnect on the first check more than PingTimeout ${sec(pt)} after it (${sec(giveUp)}); the last ${what} came within ${sec(since)} before T0: (${sec(k - since + giveUp)}, ${sec(k + check + giveUp)}]`,
    };
  },
  tune(ask) {
    const pt = Math.max(1000, Math.ceil(ask.tolerateMs / 1000) * 1000);
    const cap = floorTo(periodCap(ask), 1000);
    for (let k = Math.min(floorTo(ask.withinMs, 1000), cap); k >= 1000; k -= 1000) {
      const { check, giveUp } = pahoGoBounds(k, pt);
      if (k + check + giveUp <= ask.withinMs)
        return {
          strategy: build('paho-go', k, pt),
          probeEveryMs: k,
          toleratesMs: pt,
          why: `paho.mqtt.golang: PingTimeout ${sec(pt)} for a late PINGRESP; keepalive ${sec(k)} + a check every ${sec(check)} + PingTimeout to the next check (${sec(giveUp)}) <= ${sec(ask.withinMs)}`,
        };
    }
    return `mqtt (paho.mqtt.golang): PingTimeout ${sec(pt)} (what a PINGRESP may take) leaves no whole-second keepalive within ${sec(ask.withinMs)}`;
  },
};

/**
 * Eclipse Paho Java ClientState.checkForActivity: it runs keepalive after the last packet sent
 * (so about every K while publishing); PINGREQ when nothing was received for K (or nothing sent);
 * the next run, K later, throws REASON_CODE_CLIENT_TIMEOUT if still nothing was received.
 */
const pahoJava: Rule = {
  label: 'Eclipse Paho Java',
  window({ keepaliveMs: k }, c) {
    const { since, what } = lastIn(k, c);
    // While publishing, the checks run about K apart whatever arrives, so the one that sends the
    // ping may come up to K after the broker's last packet was K old; idle, pings set the pace.
    const max = c.workload.kind === 'publish' ? 3 * k : 2 * k;
    return {
      window: [2 * k - since, max],
      why: `Eclipse Paho Java: PINGREQ on the first activity check (about every keepalive ${sec(k)}) at least ${sec(k)} after the last packet received, REASON_CODE_CLIENT_TIMEOUT at the next, ${sec(k)} later; the last ${what} came within ${sec(since)} before T0: (${sec(2 * k - since)}, ${sec(max)}]`,
    };
  },
  tune(ask) {
    const n = ask.workload.kind === 'publish' ? 3 : 2;
    const k = Math.min(floorTo(ask.withinMs / n, 1000), floorTo(periodCap(ask), 1000));
    if (k < 1000)
      return `mqtt (Eclipse Paho Java): ${n} x keepalive 1s exceeds ${sec(ask.withinMs)}`;
    if (k < ask.tolerateMs)
      return `mqtt (Eclipse Paho Java): keepalive ${sec(k)} gives up on a PINGRESP ${sec(k)} late, less than the ${sec(ask.tolerateMs)} asked for`;
    return {
      strategy: build('paho-java', k),
      probeEveryMs: k,
      toleratesMs: k,
      why: `Eclipse Paho Java: ${n} x keepalive <= ${sec(ask.withinMs)} (whole seconds); a PINGRESP may be ${sec(k)} late`,
    };
  },
};

export const MQTT_RULES: Readonly<Record<MqttLib, Rule>> = {
  js,
  paho,
  'paho-go': pahoGo,
  'paho-java': pahoJava,
};
