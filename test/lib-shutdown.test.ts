/**
 * The library's graceful shutdown helper: a real server app (test/fixtures/lib-server) with raw
 * TCP, WebSocket, HTTP/2 and gRPC servers, real clients connected and messages acknowledged,
 * then SIGTERM to the process. Each client must get its protocol's goodbye (FIN, close frame
 * 1001, GOAWAY) within the grace, every acknowledged message must have been received, and the
 * process must exit 0 by itself. The lab's `graceful` fault signals its built-in targets only (it
 * cannot start a user's server as target yet), so this is the focused proof.
 *
 * Tolerances: a goodbye is expected within 1 s of the signal (the helper sends it at once; 1 s
 * is for a loaded 2-core machine); a forced close at the 1.5 s grace, give or take 1 s.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { GRPC_METHOD } from '../src/protocols/grpc/method.js';
import { BadInputError, gracefulShutdown, kubernetesSettings } from '../src/lib/index.js';
import { waitFor } from './helpers.js';

const SERVER = fileURLToPath(new URL('./fixtures/lib-server.js', import.meta.url));
const GRACE_MS = 1500;

interface App {
  proc: ChildProcess;
  ports: Record<'tcp' | 'ws' | 'h2' | 'grpc', number>;
  /** `recv <proto> <seq>` lines, as `<proto> <seq>`. */
  received: Set<string>;
  closed: { ms: number; forced: number } | null;
  exit: Promise<number | null>;
}

async function startApp(): Promise<App> {
  const proc = spawn(process.execPath, [SERVER], {
    env: { ...process.env, GRACE_MS: String(GRACE_MS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const app = {
    proc,
    received: new Set<string>(),
    closed: null,
    exit: new Promise<number | null>((r) => proc.on('exit', (code) => r(code))),
  } as unknown as App;
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const [verb, ...rest] = buf.slice(0, nl).split(' ');
      buf = buf.slice(nl + 1);
      if (verb === 'ports') app.ports = JSON.parse(rest.join(' ')) as App['ports'];
      if (verb === 'recv') app.received.add(rest.join(' '));
      if (verb === 'closed') app.closed = JSON.parse(rest.join(' ')) as App['closed'];
    }
  });
  await waitFor(() => app.ports, 10_000, 'the app listens');
  return app;
}

/** Acknowledged sequence numbers, from `ACK <seq>` in what a client read. */
const acks = (text: string): number[] => [...text.matchAll(/ACK (\d+)/g)].map((m) => Number(m[1]));
const msgs = (from: number, n: number): string =>
  Array.from({ length: n }, (_, i) => `MSG ${from + i}\n`).join('');

describe('gracefulShutdown', () => {
  it('SIGTERM: FIN, close frame 1001, GOAWAY within the grace; no acknowledged message lost; exit 0', async () => {
    const app = await startApp();
    const got: Record<string, number> = {};
    const acked: Record<string, number[]> = { tcp: [], ws: [], h2: [], grpc: [] };
    let sigAt = 0;
    const mark = (what: string): void => void (got[what] ??= performance.now() - sigAt);

    const sock = net.connect(app.ports.tcp, '127.0.0.1');
    let tcpText = '';
    sock.on('data', (d) => (acked.tcp = acks((tcpText += d.toString()))));
    sock.on('end', () => mark('tcp FIN'));
    sock.write(msgs(1, 5));

    const ws = new WebSocket(`ws://127.0.0.1:${app.ports.ws}/`);
    ws.on('message', (d: Buffer) => acked.ws!.push(...acks(d.toString())));
    ws.on('close', (code) => mark(`ws close ${code}`));
    await new Promise((r) => ws.once('open', r));
    for (let i = 1; i <= 5; i++) ws.send(`MSG ${i}`);

    const session = http2.connect(`http://127.0.0.1:${app.ports.h2}`);
    const req = session.request({ ':method': 'POST', ':path': '/' });
    let h2Text = '';
    req.on('data', (d: Buffer) => (acked.h2 = acks((h2Text += d.toString()))));
    req.write(msgs(1, 5));
    // A client that honours GOAWAY finishes its stream; the server then closes the session.
    session.on('goaway', (code) => {
      mark(`h2 GOAWAY ${code}`);
      req.end();
    });

    const client = new grpc.Client(
      `127.0.0.1:${app.ports.grpc}`,
      grpc.credentials.createInsecure(),
    );
    const call = client.makeBidiStreamRequest(
      GRPC_METHOD.path,
      GRPC_METHOD.requestSerialize,
      GRPC_METHOD.responseDeserialize,
    );
    call.on('data', (d: Buffer) => acked.grpc!.push(...acks(d.toString())));
    call.on('error', () => undefined);
    call.on('status', (s) => mark(`grpc status ${grpc.status[s.code]}`));
    call.write(Buffer.from(msgs(1, 5)));

    await waitFor(
      () => Object.values(acked).every((a) => a.length === 5),
      10_000,
      () => `every client had its 5 messages acknowledged: ${JSON.stringify(acked)}`,
    );
    // The gRPC client ends its call once the server stops taking new ones (tryShutdown).
    sigAt = performance.now();
    app.proc.kill('SIGTERM');
    setTimeout(() => call.end(), 50);

    const code = await app.exit;
    assert.equal(code, 0, 'the app exited by itself');
    for (const what of ['tcp FIN', 'ws close 1001', 'h2 GOAWAY 0']) {
      await waitFor(
        () => got[what] !== undefined,
        5000,
        () => `${what}: ${JSON.stringify(got)}`,
      );
      assert.ok(got[what]! < 1000, `${what} ${got[what]} ms after SIGTERM: ${JSON.stringify(got)}`);
    }
    await waitFor(
      () => got['grpc status OK'] !== undefined,
      5000,
      () => JSON.stringify(got),
    );
    assert.deepEqual(app.closed?.forced, 0, 'nothing had to be forced');
    for (const [proto, seqs] of Object.entries(acked))
      for (const seq of seqs)
        assert.ok(
          app.received.has(`${proto} ${seq}`),
          `${proto} ${seq} acknowledged, not received`,
        );
    sock.destroy();
    session.destroy();
    client.close();
  });

  it('a client that never closes its side is destroyed at the grace deadline', async () => {
    const app = await startApp();
    // allowHalfOpen: the client reads the server's FIN but never sends its own.
    const sock = net.connect({ port: app.ports.tcp, host: '127.0.0.1', allowHalfOpen: true });
    let finAt = 0;
    sock.on('end', () => (finAt = performance.now()));
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    await new Promise((r) => setTimeout(r, 100)); // the server has accepted it
    const sigAt = performance.now();
    app.proc.kill('SIGTERM');
    assert.equal(await app.exit, 0);
    assert.ok(finAt - sigAt < 1000, `FIN ${finAt - sigAt} ms after SIGTERM`);
    assert.equal(app.closed?.forced, 1, JSON.stringify(app.closed));
    assert.ok(
      Math.abs(app.closed.ms - GRACE_MS) < 1000,
      `forced at ${app.closed.ms} ms, grace ${GRACE_MS}`,
    );
    sock.destroy();
  });

  it('bad input: no servers, a grace that is not a duration', () => {
    assert.throws(() => gracefulShutdown({ servers: [] }), BadInputError);
    assert.throws(
      () => gracefulShutdown({ servers: [net.createServer()], grace: 'soon' }),
      /grace: 'soon' is not a duration/,
    );
  });

  it('kubernetesSettings: terminationGracePeriodSeconds exceeds preStop + the app grace', () => {
    const k = kubernetesSettings({ grace: '20s', preStopSleep: '5s' });
    assert.equal(k.terminationGracePeriodSeconds, 26);
    assert.deepEqual(k.lifecycle.preStop.exec.command, ['sleep', '5']);
    assert.match(k.yaml, /^terminationGracePeriodSeconds: 26/);
    assert.match(k.why, /5s preStop .* \+ 20s grace \+ 1s margin = 26s/);
    assert.equal(kubernetesSettings({ grace: 1500 }).terminationGracePeriodSeconds, 5 + 2 + 1);
  });
});
