/**
 * The HTTP/2 client (node:http2): one session with one long-lived POST stream whose body carries
 * `MSG <seq>` lines. Strategy h2: session.ping() every `ping`; an ack `timeout` late ends the
 * session. A GOAWAY, a stream or session error or close is a detection too.
 */
import http2 from 'node:http2';
import type { ClientArgs } from '../types.js';
import { childConfig } from '../../util/child-main.js';
import { heartbeat } from '../../clients/heartbeat.js';
import { recordSeqLines } from '../../clients/workload.js';
import { onLines } from '../../util/lines.js';
import { runReconnecting, type ReconnectingOptions } from '../../clients/reconnecting.js';

/** HTTP/2 error codes by number (RFC 9113 section 7), for GOAWAY and RST_STREAM. */
const H2_ERRORS = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];
const h2Error = (code: number | undefined): string | undefined =>
  code === undefined ? undefined : (H2_ERRORS[code] ?? String(code));

const cfg = childConfig<ClientArgs & Omit<ReconnectingOptions, 'workload'>>();
const s = cfg.strategy.kind === 'h2' ? cfg.strategy : null;

runReconnecting(cfg, (d) => {
  const session = http2.connect(`http://${cfg.host}:${cfg.port}`);
  d.onFail(() => session.destroy());
  session.on('goaway', (code: number) => d.fail('goaway', h2Error(code)));
  session.on('error', (err: NodeJS.ErrnoException) => d.fail('error', err.code ?? err.message));
  session.on('close', () => d.fail('close'));
  session.once('connect', () => {
    // 'connect' is emitted a tick late: the dial may have timed out (and destroyed it) meanwhile.
    if (session.destroyed) return;
    const stream = session.request(
      { ':method': 'POST', ':path': `/stream/${cfg.clientId}` },
      { endStream: false },
    );
    stream.on('error', (err: NodeJS.ErrnoException) =>
      d.fail('stream-error', err.code ?? err.message),
    );
    stream.on('close', () => d.fail('stream-close', h2Error(stream.rstCode)));
    onLines(stream, recordSeqLines);
    stream.once('response', () => {
      d.established({
        send: (seq, done) => stream.write(`MSG ${seq}\n`, done),
        end: () => {
          stream.end();
          session.close();
        },
      });
      if (!s) return;
      const hb = heartbeat({
        everyMs: s.pingMs,
        timeoutMs: s.timeoutMs,
        send: (n) => {
          try {
            session.ping((err) => {
              if (!err) hb.ack(n);
            });
          } catch (err) {
            d.fail('ping-error', (err as Error).message);
          }
        },
        onTimeout: () => d.fail('ping-timeout'),
      });
      d.onFail(hb.stop);
    });
  });
});
