/**
 * The NATS client under test: nats.js v3 (@nats-io/transport-node) with the strategy's ping and
 * reconnect options. Every status event the library emits goes into the timeline; the first
 * `staleConnection` or `disconnect` on a connection is its detection.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { emit } from '../../events.js';
import { childConfig, onParentGone } from '../../util/child-main.js';
import type { ClientArgs } from '../types.js';
import { publishLoop, subjectFor } from '../../clients/workload.js';
import { publishSeq, recordMessages } from './messages.js';
import { natsConnectOptions } from '../../lib/from-strategy.js';

const cfg = childConfig<ClientArgs>();
if (cfg.strategy.kind !== 'nats') throw new Error(`nats client given ${cfg.strategy.kind}`);
const subject = subjectFor(cfg.clientId, '.');

let stopping = false;
let attempt = 1;
/** Whether the current connection has already been reported as failed. */
let failed = false;

function detected(reason: string): void {
  if (failed || stopping) return;
  failed = true;
  emit({ type: 'detected', reason });
}

let nc: NatsConnection;
try {
  emit({ type: 'connecting', attempt });
  nc = await connect({
    servers: `${cfg.host}:${cfg.port}`,
    name: cfg.clientId,
    ...natsConnectOptions(cfg.strategy),
    reconnect: true,
    // The lab wants repeatable timing; the library's 100 ms default jitter is turned off.
    reconnectJitter: 0,
  });
} catch (err) {
  emit({ type: 'fatal', error: `connect: ${(err as Error).message}` });
  process.exit(1);
}

async function ready(): Promise<void> {
  // For a subscriber, "connected" means the server has the subscription (flush round trip).
  if (cfg.workload.kind === 'subscribe') await nc.flush();
  emit({ type: 'connected', attempt });
}

if (cfg.workload.kind === 'subscribe') recordMessages(nc, subject);
await ready();

void (async () => {
  for await (const s of nc.status()) {
    const { type, ...rest } = s;
    const detail =
      'error' in rest ? rest.error.message : 'sub' in rest ? `pending ${rest.pending}` : undefined;
    emit({
      type: 'status',
      name: type,
      ...(detail !== undefined
        ? { detail }
        : Object.keys(rest).length
          ? { detail: JSON.stringify(rest) }
          : {}),
    });
    switch (type) {
      case 'ping':
        emit({ type: 'ping', n: s.type === 'ping' ? s.pendingPings : 0 });
        break;
      case 'staleConnection':
        detected('stale-connection');
        break;
      case 'disconnect':
        detected('disconnect');
        break;
      case 'reconnect':
        attempt += 1;
        failed = false;
        void ready().catch(() => undefined);
        break;
      default:
        break;
    }
  }
})();

void nc.closed().then((err) => {
  // After maxReconnectAttempts the library closes for good: the client stays up, disconnected.
  if (!stopping) emit({ type: 'status', name: 'closed', ...(err ? { detail: err.message } : {}) });
});

if (cfg.workload.kind === 'publish') {
  publishLoop(
    cfg.workload.rate,
    (seq) => publishSeq(nc, subject, seq),
    () => stopping,
  );
}

onParentGone(() => {
  if (stopping) return;
  stopping = true;
  emit({ type: 'closed' });
  void nc.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
