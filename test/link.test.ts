/**
 * The proxy's link (src/proxy/link.ts), in-process with real TCP on loopback: a client, a
 * listener whose accepted socket and a socket to an upstream sink make a Connection (as the proxy
 * builds one), and its two links, one per direction. Toxics are set on a link directly, mid-stream.
 *
 * Timing: nothing here measures a time. Silence checks first wait (polling) until the proxy has
 * read what it must hold, then let a round trip cross the other direction: that takes several
 * event-loop turns, in which an unheld chunk (written on the next turn) would have crossed.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { Connection } from '../src/proxy/connection.js';
import type { ToxicConfig } from '../src/proxy/toxics/index.js';
import { waitFor } from './helpers.js';

/** Everything one end of the stream received. */
class Received {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  ended = false;
  closed = false;
  readonly hash = createHash('sha256');
  constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.bytes += d.length;
      this.hash.update(d);
    });
    sock.on('end', () => (this.ended = true));
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => undefined);
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

const listen = async (server: net.Server): Promise<number> => {
  await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1' }, () => r()));
  return (server.address() as net.AddressInfo).port;
};

/**
 * client -> [accepted socket | Connection | upstream socket] -> sink. `up` is the link from the
 * client to the sink, `down` the other way; `proxySide` the socket `up` reads from.
 */
async function through(t: TestContext, toxics: ToxicConfig[] = [], id = 1) {
  let sink: Received | undefined;
  // The sink answers a FIN with its own, as a server does.
  const upstreamServer = net.createServer((s) => (sink = new Received(s)));
  const upstreamPort = await listen(upstreamServer);
  let conn: Connection | undefined;
  const front = net.createServer({ noDelay: true, allowHalfOpen: true }, (accepted) => {
    const upstream = net.connect({
      host: '127.0.0.1',
      port: upstreamPort,
      noDelay: true,
      allowHalfOpen: true,
    });
    conn = new Connection(id, accepted, upstream, toxics);
  });
  const sock = net.connect({ host: '127.0.0.1', port: await listen(front), noDelay: true });
  const client = new Received(sock);
  t.after(() => {
    sock.destroy();
    conn?.reset();
    upstreamServer.close();
    front.close();
  });
  await waitFor(() => conn && sink, 5000, 'the connection through to the sink');
  return { client, sink: sink!, conn: conn!, up: conn!.upstreamLink, down: conn!.downstreamLink };
}

const toxic = (
  type: string,
  attributes: Record<string, number> = {},
  more: Partial<ToxicConfig> = {},
): ToxicConfig => ({ name: type, type, stream: 'upstream', toxicity: 1, attributes, ...more });

/** A round trip the other way (sink to client): several event-loop turns of the proxy. */
async function roundTripDown(p: Awaited<ReturnType<typeof through>>, what: string) {
  const before = p.client.bytes;
  p.sink.sock.write('.');
  await waitFor(() => p.client.bytes > before, 2000, `${what}: the other direction flows`);
}

describe('the proxy link: one direction of a connection, with its toxics', () => {
  it('passes chunks on in order, each way, and counts the bytes it wrote', async (t) => {
    const p = await through(t);
    const sent: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const chunk = randomBytes(1 + ((i * 37) % 3000));
      sent.push(chunk);
      p.client.sock.write(chunk);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    const upBytes = sent.reduce((n, b) => n + b.length, 0);
    const back = randomBytes(200_000);
    p.sink.sock.write(back);
    await waitFor(
      () => p.sink.bytes === upBytes,
      5000,
      () => `${p.sink.bytes} of ${upBytes}`,
    );
    await waitFor(() => p.client.bytes === back.length, 5000, 'the way back');
    assert.ok(Buffer.concat(p.sink.chunks).equals(Buffer.concat(sent)), 'in order, intact');
    assert.ok(Buffer.concat(p.client.chunks).equals(back), 'the way back, in order, intact');
    assert.equal(p.up.bytes, upBytes);
    assert.equal(p.down.bytes, back.length);
    assert.deepEqual(
      [p.conn.toJSON().bytes_upstream, p.conn.toJSON().bytes_downstream],
      [upBytes, back.length],
    );
  });

  it('a toxic added mid-stream holds what comes after it; removed, that goes on first, in order', async (t) => {
    const p = await through(t);
    p.client.sock.write('a');
    await waitFor(() => p.sink.text() === 'a', 2000, 'a crossed');
    p.up.sync([toxic('blackhole')]);
    p.client.sock.write('b');
    await waitFor(() => p.conn.client.bytesRead === 2, 2000, 'the proxy read b');
    p.client.sock.write('c');
    await waitFor(() => p.conn.client.bytesRead === 3, 2000, 'the proxy read c');
    await roundTripDown(p, 'while the upstream link is held');
    assert.equal(p.sink.text(), 'a', 'b and c are held');
    assert.equal(p.up.bytes, 1, 'and not counted as written');
    p.up.sync([]);
    p.client.sock.write('d');
    await waitFor(
      () => p.sink.bytes === 4,
      2000,
      () => `sink has ${p.sink.text()}`,
    );
    assert.equal(p.sink.text(), 'abcd');
    assert.equal(p.up.bytes, 4);
  });

  it('a toxic changed under the same name takes its new settings at once', async (t) => {
    const p = await through(t);
    p.up.sync([toxic('blackhole', {}, { name: 'path' })]);
    p.client.sock.write('held');
    await waitFor(() => p.conn.client.bytesRead === 4, 2000, 'the proxy read it');
    await roundTripDown(p, 'blackholed');
    assert.equal(p.sink.bytes, 0);
    // As the API updates a toxic: a new config under the old name.
    p.up.sync([toxic('latency', { latency: 0 }, { name: 'path' })]);
    await waitFor(() => p.sink.text() === 'held', 2000, 'released by the update');
  });

  it('toxics switched on and off under a steady stream never reorder or lose a byte', async (t) => {
    const p = await through(t);
    // Latency with jitter delays each chunk by 5-35 ms from its arrival: a link that let chunks
    // overtake each other, or sent a new one straight on while older ones wait, would reorder.
    const slow = toxic('latency', { latency: 20, jitter: 15 });
    let on = false;
    const toggler = setInterval(() => {
      on = !on;
      // A new config object each time: the link drops the old toxic and starts the new one.
      p.up.sync(on ? [{ ...slow }] : []);
    }, 7);
    t.after(() => clearInterval(toggler));
    let text = '';
    for (let i = 0; i < 300; i++) {
      const line = `${i};`;
      text += line;
      p.client.sock.write(line);
      await new Promise((r) => setTimeout(r, 1));
    }
    clearInterval(toggler);
    p.up.sync([]);
    await waitFor(
      () => p.sink.bytes === text.length,
      5000,
      () => `${p.sink.bytes} of ${text.length}`,
    );
    assert.equal(p.sink.text(), text);
    assert.equal(p.up.bytes, text.length);
  });

  it('end of stream: the FIN follows the data; a blackhole holds it until it goes', async (t) => {
    const p = await through(t);
    p.up.sync([toxic('blackhole')]);
    p.client.sock.end('last');
    await waitFor(() => p.conn.client.readableEnded, 2000, 'the proxy read last and the FIN');
    await roundTripDown(p, 'the client half-closed, upstream held');
    assert.equal(p.sink.bytes, 0, 'the data is held');
    assert.equal(p.sink.ended, false, 'so is the FIN');
    p.up.sync([]);
    await waitFor(() => p.sink.ended, 2000, 'the FIN crossed');
    assert.equal(p.sink.text(), 'last', 'after the data');
    // The sink answers with its FIN, which the other link passes on.
    await waitFor(() => p.client.ended, 2000, 'the FIN back');
  });

  it('a FIN alone, after everything crossed, is held too: a dead path passes no close', async (t) => {
    const p = await through(t);
    p.client.sock.write('all');
    await waitFor(() => p.sink.text() === 'all', 2000, 'the data crossed');
    p.up.sync([toxic('blackhole')]);
    p.client.sock.end();
    await waitFor(() => p.conn.client.readableEnded, 2000, 'the proxy read the FIN');
    await roundTripDown(p, 'the client half-closed, upstream held');
    assert.equal(p.sink.ended, false, 'the FIN is held');
    p.up.sync([]);
    await waitFor(() => p.sink.ended, 2000, 'the FIN crossed');
  });

  it('backpressure: a held link stops reading at about 1 MiB; released, every byte arrives', async (t) => {
    const p = await through(t);
    p.up.sync([toxic('blackhole')]);
    // Far more than the proxy holds (1 MiB) plus what the kernels buffer on loopback (a few MiB
    // each way): the rest must wait in the client.
    const payload = randomBytes(32 * 2 ** 20);
    const want = createHash('sha256').update(payload).digest('hex');
    p.client.sock.write(payload);
    await waitFor(() => p.conn.client.isPaused(), 5000, 'the link paused its source');
    await roundTripDown(p, 'while the upstream link is full');
    // 1 MiB queued, plus one read in flight and the socket's own buffer when it paused.
    assert.ok(
      p.conn.client.bytesRead < 2 ** 20 + 2 ** 18,
      `the proxy read ${p.conn.client.bytesRead} bytes`,
    );
    assert.ok(p.client.sock.writableLength > 0, 'the sender is held back too');
    assert.equal(p.sink.bytes, 0);
    p.up.sync([]);
    await waitFor(
      () => p.sink.bytes === payload.length,
      20_000,
      () => `${p.sink.bytes} bytes`,
    );
    assert.equal(p.sink.hash.digest('hex'), want, 'in order, intact');
    assert.equal(p.up.bytes, payload.length);
  });

  it('a slow reader: after a toxic goes, new chunks still queue behind those that wait', async (t) => {
    const p = await through(t);
    // The sink stops reading, and a toxic that delays nothing puts every chunk through the queue.
    p.sink.sock.pause();
    p.up.sync([toxic('latency', { latency: 0 })]);
    const sent: Buffer[] = [];
    const send = async (chunk: Buffer): Promise<void> => {
      sent.push(chunk);
      p.client.sock.write(chunk);
      const total = sent.reduce((n, b) => n + b.length, 0);
      await waitFor(() => p.conn.client.bytesRead === total, 5000, 'the proxy read it');
    };
    // Until the kernels toward the sink are full and a write of the link waits in the proxy for
    // a drain that only the sink can give (256 KiB at a time: the queue stays under 1 MiB, so
    // the link keeps reading).
    while (p.conn.upstream.writableLength === 0) {
      assert.ok(sent.length < 400, 'the path to a sink that does not read fills');
      await send(randomBytes(2 ** 18));
    }
    await send(Buffer.from('queued behind'));
    p.up.sync([]);
    await send(Buffer.from('after the toxic went'));
    p.sink.sock.resume();
    const total = sent.reduce((n, b) => n + b.length, 0);
    await waitFor(
      () => p.sink.bytes === total,
      20_000,
      () => `${p.sink.bytes} of ${total}`,
    );
    assert.ok(Buffer.concat(p.sink.chunks).equals(Buffer.concat(sent)), 'in order, intact');
  });

  it('a toxic that rolled off (toxicity 0) or is aimed at another connection does not act', async (t) => {
    const p = await through(t, [], 7);
    p.up.sync([
      toxic('blackhole', {}, { name: 'never', toxicity: 0 }),
      toxic('blackhole', {}, { name: 'elsewhere', connections: [8] }),
    ]);
    p.client.sock.write('x');
    await waitFor(() => p.sink.text() === 'x', 2000, 'x crossed');
    p.up.sync([toxic('blackhole', {}, { connections: [7] })]);
    p.client.sock.write('y');
    await waitFor(() => p.conn.client.bytesRead === 2, 2000, 'the proxy read y');
    await roundTripDown(p, 'aimed at this connection');
    assert.equal(p.sink.text(), 'x', 'aimed at this connection, it holds');
  });

  it('limit_data: counts what it let through, then closes the connection', async (t) => {
    const limit = toxic('limit_data', { bytes: 5 });
    const p = await through(t, [limit]);
    p.client.sock.write('0123456789');
    await waitFor(() => p.conn.closed.aborted, 2000, 'the connection closed');
    assert.equal(p.sink.text(), '01234');
    assert.equal(p.up.passed('limit_data'), 5);
    assert.equal(p.up.bytes, 5);
    assert.equal(p.down.passed('limit_data'), 0, 'the other direction has its own count');
  });
});
