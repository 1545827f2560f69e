/**
 * The NATS sink: in the server namespace, over loopback, untouched by the fault. It records every
 * message the client published (publish workload), or publishes for a subscribing client once the
 * runner writes `start` on stdin (subscribe workload). It reconnects quickly and forever, so it is
 * back as soon as a restarted broker is.
 */
import { connect } from '@nats-io/transport-node';
import { emit } from '../../events.js';
import { childConfig } from '../../util/child-main.js';
import type { SinkArgs } from '../types.js';
import { publishLoop, subjectFor } from '../../clients/workload.js';
import { sinkControl } from '../../clients/sink-control.js';
import { publishSeq, recordMessages } from './messages.js';

const cfg = childConfig<SinkArgs>();
const subject = subjectFor(cfg.clientId, '.');

const nc = await connect({
  servers: `127.0.0.1:${cfg.port}`,
  name: 'halfopen-sink',
  reconnect: true,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 50,
  reconnectJitter: 0,
});
if (cfg.workload.kind === 'publish') recordMessages(nc, subject);
// Ready once the server has the subscription: at start, and again after every reconnect (the
// library replays subscriptions; the flush round trip confirms the server has them).
const ready = (): Promise<void> => nc.flush().then(() => emit({ type: 'ready' }));
void (async () => {
  for await (const s of nc.status()) {
    // Only transitions: attempts every 50 ms while the broker is down would drown the timeline.
    if (s.type === 'disconnect' || s.type === 'reconnect') emit({ type: 'status', name: s.type });
    if (s.type === 'reconnect') void ready().catch(() => undefined);
  }
})();
await ready();

const control = sinkControl(() => {
  void nc.close().finally(() => process.exit(0));
});
if (cfg.workload.kind === 'subscribe') {
  const { rate } = cfg.workload;
  control.onStart(() => publishLoop(rate, (seq) => publishSeq(nc, subject, seq), control.stopped));
}
