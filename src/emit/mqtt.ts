/**
 * MQTT settings in MQTT.js, paho-mqtt (Python), paho.mqtt.golang and Eclipse Paho Java. Each
 * writes the strategy under its own library's rule (`lib=`), and its comment gives the worst case
 * of that rule: the window's end whatever the workload (src/strategies/mqtt-libs.ts).
 */
import { sec } from '../core/window.js';
import { formatStrategy, silentPath, type Strategy } from '../strategies/index.js';
import type { MqttLib, MqttStrategy } from '../strategies/mqtt.js';
import { pahoGoCheckMs } from '../strategies/mqtt-libs.js';
import type { Emitter } from './types.js';

/** emit() (src/emit/index.ts) hands an emitter only strategies of its own kinds. */
function asMqtt(s: Strategy, lib: MqttLib): MqttStrategy {
  return { ...(s as MqttStrategy), lib };
}

/** The latest a silent broker is noticed under this rule, for the comment (a publisher's case). */
function worst(s: MqttStrategy): string {
  if (s.keepaliveMs === 0) return 'never by keepalive (0 disables it)';
  const w = silentPath(s, { workload: { kind: 'publish', rate: 1 }, sysctls: {}, qos: 0 }).window;
  return w ? `within ${sec(w[1])}` : 'never';
}

const seconds = (ms: number): number => ms / 1000;

/** A Go time.Duration literal: `4 * time.Second`, `1500 * time.Millisecond`. */
const goDuration = (ms: number): string =>
  ms % 1000 === 0 ? `${ms / 1000} * time.Second` : `${ms} * time.Millisecond`;

export const mqttJs: Emitter = {
  library: 'mqtt.js',
  language: 'javascript',
  kinds: ['mqtt'],
  source:
    'MQTT.js README (IClientOptions keepalive, reconnectPeriod); lib/client.ts and lib/PingTimer.ts',
  emit(strategy) {
    const s = asMqtt(strategy, 'js');
    return `// ${formatStrategy(s)}
// MQTT.js sends PINGREQ keepalive after the last PINGRESP or ack and closes ("Keepalive timeout")
// at 1.5 x keepalive: a silent broker is noticed ${worst(s)}.
import mqtt from 'mqtt';

const client = mqtt.connect(url, {
  keepalive: ${seconds(s.keepaliveMs)}, // seconds; 0 disables
  reconnectPeriod: ${s.reconnectMs}, // ms between reconnect attempts
});
client.on('offline', () => {
  // The connection is gone: QoS 1 publishes not yet acknowledged are resent after reconnect.
});
`;
  },
};

export const pahoPython: Emitter = {
  library: 'paho-python',
  language: 'python',
  kinds: ['mqtt'],
  lib: 'paho',
  source:
    'paho-mqtt client.py: Client.connect(keepalive=), reconnect_delay_set(), _check_keepalive (the same in 1.x and 2.x)',
  emit(strategy) {
    const s = asMqtt(strategy, 'paho');
    const k = seconds(s.keepaliveMs);
    const r = seconds(s.reconnectMs);
    return `# ${formatStrategy(s)}
# paho-mqtt sends PINGREQ every keepalive, whatever else it sends or receives, and closes the
# socket keepalive after one goes unanswered, checked on each pass of its network loop (at least
# every second): a silent broker is noticed ${worst(s)}.
# keepalive is connect()'s argument in paho-mqtt 1.x and 2.x alike; 2.x needs
# mqtt.Client(mqtt.CallbackAPIVersion.VERSION2) and then calls on_disconnect(client, userdata,
# flags, reason_code, properties) instead of 1.x's on_disconnect(client, userdata, rc).
client.reconnect_delay_set(min_delay=${r}, max_delay=${r})  # seconds before reconnecting
client.connect(host, port, keepalive=${k})  # seconds; 0 disables
client.loop_start()  # its thread checks keepalive and reconnects after a loss
`;
  },
};

export const pahoGo: Emitter = {
  library: 'paho-go',
  language: 'go',
  kinds: ['mqtt'],
  lib: 'paho-go',
  source:
    'github.com/eclipse/paho.mqtt.golang options.go (SetKeepAlive, SetPingTimeout, SetAutoReconnect, SetMaxReconnectInterval) and ping.go',
  emit(strategy) {
    const s = asMqtt(strategy, 'paho-go');
    return `// ${formatStrategy(s)}
// paho.mqtt.golang looks every ${sec(pahoGoCheckMs(s.keepaliveMs))}, sends PINGREQ once keepalive passes with nothing
// received (or nothing sent) and drops the connection on the first look more than PingTimeout
// after it with no PINGRESP: a silent broker is noticed ${worst(s)}.
opts := mqtt.NewClientOptions().
	AddBroker(broker).
	SetKeepAlive(${goDuration(s.keepaliveMs)}). // whole seconds; 0 disables
	SetPingTimeout(${goDuration(s.pingTimeoutMs)}).
	SetAutoReconnect(true).
	SetMaxReconnectInterval(${goDuration(s.reconnectMs)}).
	SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		log.Printf("connection lost: %v", err)
	})
`;
  },
};

export const pahoJava: Emitter = {
  library: 'paho-java',
  language: 'java',
  kinds: ['mqtt'],
  lib: 'paho-java',
  source:
    'Eclipse Paho Java org.eclipse.paho.client.mqttv3 MqttConnectOptions (setKeepAliveInterval, setAutomaticReconnect, setMaxReconnectDelay) and internal/ClientState.checkForActivity',
  emit(strategy) {
    const s = asMqtt(strategy, 'paho-java');
    return `// ${formatStrategy(s)}
// Paho Java checks about every keepalive after its last send, sends PINGREQ once nothing was
// received for keepalive, and fails the connection (REASON_CODE_CLIENT_TIMEOUT) at the next check
// if still nothing arrived: a silent broker is noticed ${worst(s)}.
MqttConnectOptions opts = new MqttConnectOptions();
opts.setKeepAliveInterval(${seconds(s.keepaliveMs)}); // seconds; 0 disables
opts.setAutomaticReconnect(true); // first retry after 1 s, doubling up to the maximum
opts.setMaxReconnectDelay(${Math.max(1000, s.reconnectMs)}); // ms
`;
  },
};
