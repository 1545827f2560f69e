/**
 * The MQTT sink: in the server namespace, over loopback, untouched by the fault. It records every
 * message the client published (publish workload), or publishes for a subscribing client once the
 * runner writes `start` on stdin (subscribe workload), at the experiment's QoS. It reconnects
 * quickly and forever, so it is back as soon as a restarted broker is.
 */
import mqtt from 'mqtt';
import { emit } from '../../events.js';
import { childConfig } from '../../util/child-main.js';
import type { SinkArgs } from '../types.js';
import { sinkControl } from '../../clients/sink-control.js';
import { publishLoop, subjectFor } from '../../clients/workload.js';
import { publishSeq, recordMessages } from './messages.js';

const cfg = childConfig<SinkArgs>();
const topic = subjectFor(cfg.clientId, '/');
const { qos } = cfg;

const client = mqtt.connect({
  host: '127.0.0.1',
  port: cfg.port,
  protocol: 'mqtt',
  clientId: `halfopen-sink-${cfg.clientId}`,
  clean: true,
  reconnectPeriod: 50,
  // Subscribes itself on every connect below, so it knows when the broker has the subscription.
  resubscribe: false,
});
// Only transitions: attempts every 50 ms while the broker is down would drown the timeline.
for (const name of ['connect', 'offline'] as const)
  client.on(name, () => emit({ type: 'status', name }));
client.on('error', () => undefined);
recordMessages(client);

// Ready once the broker has the subscription (SUBACK): at start, and again after every reconnect.
client.on('connect', () => {
  if (cfg.workload.kind === 'publish')
    client.subscribe(topic, { qos }, (err) =>
      emit(err ? { type: 'fatal', error: `subscribe: ${err.message}` } : { type: 'ready' }),
    );
  else emit({ type: 'ready' });
});

const control = sinkControl(() => client.end(true, () => process.exit(0)));
if (cfg.workload.kind === 'subscribe') {
  const { rate } = cfg.workload;
  control.onStart(() =>
    publishLoop(rate, (seq) => publishSeq(client, topic, qos, seq), control.stopped),
  );
}
