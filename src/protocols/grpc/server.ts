/**
 * The built-in gRPC target (@grpc/grpc-js, insecure): one bidirectional method,
 * /halfopen.Lab/Stream, whose messages are raw bytes (no protobuf), each `MSG <seq>`. The server
 * sends its headers at once, so a client knows its stream is up, and records every message.
 * Connections come from the lab's own listener through grpc-js's connection injector, so the
 * lab sees each socket. SIGTERM: end every call (status OK), GOAWAY, then FIN.
 */
import * as grpc from '@grpc/grpc-js';
import { childConfig } from '../../util/child-main.js';
import { acceptingServer } from '../../targets/accept.js';
import { recordSeqLines } from '../../clients/workload.js';
import { serveUntilStopped } from '../../targets/serve.js';
import { GRPC_METHOD } from './method.js';
import type { AppTargetConfig } from '../../targets/app/config.js';
import { pushWhenStarted, type Push } from '../../targets/app/push.js';

const cfg = childConfig<AppTargetConfig>();
const calls = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
const service = new grpc.Server();
service.addService(
  { Stream: GRPC_METHOD },
  {
    Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      calls.add(call);
      call.sendMetadata(new grpc.Metadata());
      call.on('data', (msg: Buffer) => recordSeqLines(msg.toString('utf8')));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
      call.on('close', () => calls.delete(call));
      call.on('cancelled', () => calls.delete(call));
    },
  },
);
pushWhenStarted(cfg, () =>
  [...calls]
    .filter((c) => !c.destroyed && c.writable)
    .map(
      (c): Push =>
        (text, done) =>
          c.write(Buffer.from(text), done),
    ),
);
const injector = service.createConnectionInjector(grpc.ServerCredentials.createInsecure());

const { server, whenAllClosed } = acceptingServer((sock) => injector.injectConnection(sock));
serveUntilStopped(server, cfg, (done) => {
  for (const call of calls) call.end();
  injector.drain(500);
  whenAllClosed(done);
});
