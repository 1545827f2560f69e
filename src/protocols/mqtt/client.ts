/**
 * The MQTT client under test: MQTT.js v5 with the strategy's keepalive and reconnect period, and
 * the experiment's QoS. Every event the library emits goes into the timeline; the first `error`,
 * `close`, `offline` or `disconnect` on a connection is its detection. A publish is accepted when
 * its callback reports no error (QoS 1: the PUBACK arrived; QoS 0: the packet was written).
 */
import mqtt from 'mqtt';
import { emit } from '../../events.js';
import { childConfig, onParentGone } from '../../util/child-main.js';
import type { ClientArgs } from '../types.js';
import { publishLoop, subjectFor } from '../../clients/workload.js';
import { publishSeq, recordMessages } from './messages.js';
import { mqttConnectOptions } from '../../lib/from-strategy.js';

const cfg = childConfig<ClientArgs>();
if (cfg.strategy.kind !== 'mqtt') throw new Error(`mqtt client given ${cfg.strategy.kind}`);
const topic = subjectFor(cfg.clientId, '/');
const { qos } = cfg;

let stopping = false;
let attempt = 1;
let failed = true;
let pings = 0;
let subscribed = false;

function detected(reason: string, code?: string): void {
  if (failed || stopping) return;
  failed = true;
  emit({ type: 'detected', reason, ...(code ? { code } : {}) });
}

emit({ type: 'connecting', attempt });
const client = mqtt.connect({
  host: cfg.host,
  port: cfg.port,
  protocol: 'mqtt',
  clientId: cfg.clientId,
  clean: true,
  ...mqttConnectOptions(cfg.strategy),
});

client.on('connect', () => {
  emit({ type: 'status', name: 'connect' });
  const up = (): void => {
    failed = false;
    emit({ type: 'connected', attempt });
  };
  // For a subscriber, "connected" means the broker granted the subscription (SUBACK). MQTT.js
  // resubscribes by itself after a reconnect (clean session), so only the first time subscribes.
  if (cfg.workload.kind === 'subscribe' && !subscribed) {
    subscribed = true;
    client.subscribe(topic, { qos }, (err) => {
      if (err) emit({ type: 'fatal', error: `subscribe: ${err.message}` });
      else up();
    });
  } else up();
});
client.on('reconnect', () => {
  attempt += 1;
  emit({ type: 'status', name: 'reconnect' });
  emit({ type: 'connecting', attempt });
});
client.on('error', (err: Error & { code?: string | number }) => {
  emit({ type: 'status', name: 'error', detail: err.message });
  detected('error', typeof err.code === 'string' ? err.code : err.message);
});
client.on('close', () => {
  emit({ type: 'status', name: 'close' });
  detected('close');
});
client.on('offline', () => {
  emit({ type: 'status', name: 'offline' });
  detected('offline');
});
client.on('disconnect', () => {
  emit({ type: 'status', name: 'disconnect' });
  detected('disconnect');
});
client.on('end', () => emit({ type: 'status', name: 'end' }));
client.on('packetsend', (p) => {
  if (p.cmd === 'pingreq') emit({ type: 'ping', n: ++pings });
});
client.on('packetreceive', (p) => {
  if (p.cmd === 'pingresp') emit({ type: 'pong', n: pings });
});
recordMessages(client);

if (cfg.workload.kind === 'publish') {
  publishLoop(
    cfg.workload.rate,
    (seq) => publishSeq(client, topic, qos, seq),
    () => stopping,
  );
}

onParentGone(() => {
  if (stopping) return;
  stopping = true;
  emit({ type: 'closed' });
  client.end(true, () => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
