/**
 * The gRPC client (@grpc/grpc-js): one channel for the process's life, as applications hold it.
 * Strategy grpc sets keepalive_time_ms, keepalive_timeout_ms and keepalive_permit_without_calls.
 * Workloads: `idle` holds a connected channel with no call (so pings need without-calls=true);
 * `publish` holds one bidirectional stream and writes `MSG <seq>` messages on it. A connection is
 * lost (detected) when the stream ends UNAVAILABLE or the channel leaves READY, whichever is
 * first; the channel then reconnects with grpc-js's own backoff (1 s x1.6, up to 120 s).
 */
import * as grpc from '@grpc/grpc-js';
import { emit } from '../../events.js';
import type { ClientArgs } from '../types.js';
import { childConfig } from '../../util/child-main.js';
import { grpcChannelOptions } from '../../lib/from-strategy.js';
import { runReconnecting, type ReconnectingOptions } from '../../clients/reconnecting.js';
import { GRPC_METHOD } from './method.js';
import { recordSeqLines } from '../../clients/workload.js';

// grpc-js's keepalive trace (turned on by grpc-entry.ts before grpc-js loads) is the only place it
// says a ping went unanswered: a timeout, a kill and a reset all leave the channel IDLE.
let pingUnanswered = false;
const watchTrace = (...args: unknown[]): void => {
  if (/Ping timeout passed without response/.test(args.map(String).join(' '))) {
    pingUnanswered = true;
    emit({ type: 'status', name: 'keepalive-timeout' });
  }
};
grpc.setLogger({ error: watchTrace, info: watchTrace, debug: watchTrace });
/** What ended the connection: grpc-js's keepalive if it said so, or what the library reported. */
const why = (reported: string): string => (pingUnanswered ? 'keepalive-timeout' : reported);

const cfg = childConfig<ClientArgs & Omit<ReconnectingOptions, 'workload'>>();
const s = cfg.strategy;
const options: grpc.ChannelOptions = s.kind === 'grpc' ? { ...grpcChannelOptions(s) } : {};
const client = new grpc.Client(
  `${cfg.host}:${cfg.port}`,
  grpc.credentials.createInsecure(),
  options,
);
const channel = client.getChannel();
const { READY } = grpc.connectivityState;
const stateName = (st: grpc.connectivityState): string => grpc.connectivityState[st];

// Every channel state change, as the library reports it.
const follow = (from: grpc.connectivityState): void =>
  channel.watchConnectivityState(from, Infinity, () => {
    const to = channel.getConnectivityState(false);
    emit({ type: 'status', name: 'channel', detail: `${stateName(from)}->${stateName(to)}` });
    if (to !== grpc.connectivityState.SHUTDOWN) follow(to);
  });
follow(channel.getConnectivityState(false));

runReconnecting(cfg, (d) => {
  let over = false;
  d.onFail(() => (over = true));
  const whenReady = (): void => {
    if (over) return;
    const st = channel.getConnectivityState(true);
    if (st === READY) onReady();
    else channel.watchConnectivityState(st, Infinity, whenReady);
  };
  const watchLeave = (): void =>
    channel.watchConnectivityState(READY, Infinity, () => {
      if (!over && channel.getConnectivityState(false) !== grpc.connectivityState.SHUTDOWN)
        d.fail('channel', why(stateName(channel.getConnectivityState(false))));
    });
  const onReady = (): void => {
    pingUnanswered = false;
    if (cfg.workload.kind === 'idle') {
      d.established({ send: (_seq, done) => done(), end: () => client.close() });
      watchLeave();
      return;
    }
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(
      GRPC_METHOD.path,
      GRPC_METHOD.requestSerialize,
      GRPC_METHOD.responseDeserialize,
    );
    d.onFail(() => call.cancel());
    call.on('data', (msg: Buffer) => recordSeqLines(msg.toString('utf8')));
    call.on('error', (err: grpc.ServiceError) =>
      d.fail('stream', why(grpc.status[err.code] ?? String(err.code))),
    );
    call.on('end', () => d.fail('stream-end'));
    call.once('metadata', () => {
      d.established({
        send: (seq, done) => call.write(Buffer.from(`MSG ${seq}`), done),
        end: () => {
          call.end();
          client.close();
        },
      });
      watchLeave();
    });
  };
  whenReady();
});
