/**
 * The userland fault proxy on loopback, driven through its Toxiproxy-compatible API by the real
 * `toxiproxy-node-client`, with real sockets on both sides. No root needed.
 *
 * Timing tolerances: loopback round trips take well under 1 ms; a delay the proxy adds is checked
 * to be at least what was asked and at most that plus 400 ms, which a noisy 2-core machine under
 * the rest of the suite stays within.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Toxiproxy } from 'toxiproxy-node-client';
import { proxyServeCommand } from '../src/cli/proxy.js';
import { serveApi } from '../src/proxy/api.js';
import type { Connection } from '../src/proxy/connection.js';
import { ProxyServer } from '../src/proxy/proxy.js';
import { assertBadInput, assertStays, runCli, startCli, waitFor } from './helpers.js';

/** An echo server on loopback; resolves with its port. */
async function echoServer(): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) =>
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => r()),
  );
  return { port: (server.address() as net.AddressInfo).port, server };
}

const portOf = (listen: string): number => Number(listen.split(':').pop());

/** A client socket with everything it read, its end and its error. */
function client(port: number) {
  const sock = net.connect({ host: '127.0.0.1', port, noDelay: true });
  const state = {
    data: Buffer.alloc(0),
    ended: false,
    error: '' as string,
    closed: false,
    /** When data last arrived, and when the socket first ended or closed (performance.now()). */
    dataAt: 0,
    doneAt: 0,
  };
  sock.on('data', (d: Buffer) => {
    state.data = Buffer.concat([state.data, d]);
    state.dataAt = performance.now();
  });
  sock.on('end', () => {
    state.ended = true;
    state.doneAt ||= performance.now();
  });
  sock.on('error', (e: NodeJS.ErrnoException) => (state.error = e.code ?? e.message));
  sock.on('close', () => {
    state.closed = true;
    state.doneAt ||= performance.now();
  });
  return { sock, state, connected: new Promise<void>((r) => sock.once('connect', () => r())) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Silence checks below: once the proxy holds what the client sent (polled: it has read it), 200 ms
 * in which nothing may come back. Unheld, an echo over loopback takes well under 1 ms, and a loaded
 * machine only makes the check pass for the wrong reason, never fail for it.
 */
const QUIET_MS = 200;

describe('the proxy through toxiproxy-node-client', () => {
  const proxies = new ProxyServer();
  let api: Awaited<ReturnType<typeof serveApi>>;
  let toxiproxy: Toxiproxy;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let n = 0;
  const newProxy = () =>
    toxiproxy.createProxy({
      name: `p${++n}`,
      listen: '127.0.0.1:0',
      upstream: `127.0.0.1:${echo.port}`,
    });

  /** The proxy's side of a proxy's connections: what it has read from each client. */
  const connectionsOf = (name: string): Connection[] => [
    ...proxies.proxies.get(name)!.connections.values(),
  ];
  const toxicsOf = async (name: string): Promise<unknown> =>
    (await fetch(`http://${api.address}/proxies/${name}/toxics`)).json();

  before(async () => {
    echo = await echoServer();
    api = await serveApi(proxies, '127.0.0.1', 0);
    toxiproxy = new Toxiproxy(`http://${api.address}`);
  });
  after(async () => {
    await proxies.closeAll();
    api.http.close();
    echo.server.close();
  });

  it('creates, lists, gets, populates, resets and deletes proxies', async () => {
    assert.match(await toxiproxy.getVersion(), /Toxiproxy API 2/);
    const p = await newProxy();
    assert.equal(p.enabled, true);
    assert.ok(portOf(p.listen) > 0, `bound to a real port: ${p.listen}`);
    assert.ok(Object.keys(await toxiproxy.getAll()).includes(p.name));
    assert.equal((await toxiproxy.get(p.name)).upstream, `127.0.0.1:${echo.port}`);
    const populated = await toxiproxy.populate([
      { name: 'pop1', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}` },
    ]);
    assert.ok(populated.pop1);
    await populated.pop1.remove();
    await assert.rejects(toxiproxy.get('pop1'), 'a deleted proxy is gone');
    await p.addToxic({
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 10, jitter: 0 },
    } as never);
    await toxiproxy.reset();
    assert.deepEqual(await toxicsOf(p.name), [], 'reset removed toxics');
  });

  it('latency: a round trip takes at least the added delay, and the data is intact', async () => {
    const p = await newProxy();
    const toxic = await p.addToxic({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 150, jitter: 0 },
    } as never);
    assert.equal(toxic.name, 'slow');
    const c = client(portOf(p.listen));
    await c.connected;
    const t = performance.now();
    c.sock.write('ping');
    await waitFor(() => c.state.data.toString() === 'ping', 2000, 'the echo');
    const rtt = c.state.dataAt - t;
    assert.ok(rtt >= 148 && rtt < 550, `rtt ${rtt.toFixed(1)} ms with 150 ms latency`);
    await toxic.remove();
    c.sock.destroy();
  });

  it('blackhole: both sides stay open, nothing passes; on removal everything flows, in order', async () => {
    const p = await newProxy();
    const c = client(portOf(p.listen));
    await c.connected;
    c.sock.write('a');
    await waitFor(() => c.state.data.toString() === 'a', 1000, 'the echo of a');
    const hole = await p.addToxic({
      type: 'blackhole',
      stream: 'upstream',
      toxicity: 1,
      attributes: {},
    } as never);
    for (const ch of 'bcd') c.sock.write(ch);
    // The client closes its side: not even that FIN may cross (the echo server would answer it).
    c.sock.end();
    await waitFor(
      () => connectionsOf(p.name)[0]?.client.readableEnded,
      2000,
      'the proxy read bcd and the FIN',
    );
    await assertStays(
      () => {
        assert.equal(c.state.data.toString(), 'a', 'nothing crossed the blackhole');
        assert.equal(c.state.ended || c.state.closed || c.state.error !== '', false, 'still open');
      },
      QUIET_MS,
      'the blackhole holds',
    );
    await hole.remove();
    await waitFor(
      () => c.state.data.toString() === 'abcd',
      1000,
      () => c.state.data.toString(),
    );
    await waitFor(() => c.state.ended, 1000, 'after the heal, the FIN crossed too');
    c.sock.destroy();
  });

  it('blackhole with heal: forwarding resumes by itself', async () => {
    const p = await newProxy();
    const c = client(portOf(p.listen));
    await c.connected;
    // The heal timer starts when the proxy has the toxic, after this.
    const t = performance.now();
    await p.addToxic({
      type: 'blackhole',
      stream: 'downstream',
      toxicity: 1,
      attributes: { heal: 300 },
    } as never);
    c.sock.write('x');
    await waitFor(() => c.state.data.toString() === 'x', 2000, 'healed');
    // Held while blackholed: not before the 300 ms (less 5 ms: Node's millisecond timers may
    // fire a fraction of a ms early against performance.now()).
    const held = c.state.dataAt - t;
    assert.ok(held >= 295, `held ${held.toFixed(0)} ms with heal=300`);
    assert.deepEqual(await toxicsOf(p.name), [], 'the toxic removed itself');
    c.sock.destroy();
  });

  it('reset_peer: connections already open get an RST', async () => {
    const p = await newProxy();
    const c = client(portOf(p.listen));
    await c.connected;
    await p.addToxic({
      type: 'reset_peer',
      stream: 'downstream',
      toxicity: 1,
      attributes: { timeout: 0 },
    } as never);
    await waitFor(
      () => c.state.error === 'ECONNRESET',
      2000,
      () => `error: ${c.state.error}`,
    );
  });

  // Timers here: a 1 s idle timeout, traffic every 100 ms to keep it, 1.5 s of quiet to lose it:
  // an event loop stalled for most of a second by the rest of the suite still keeps the margins.
  for (const reset of [0, 1]) {
    it(`idle_timeout (reset=${reset}): traffic either way keeps the connection; after idling, ${reset ? 'the sender gets an RST' : 'what comes next is dropped, even a FIN'}`, async () => {
      const p = await newProxy();
      const c = client(portOf(p.listen));
      await c.connected;
      for (const stream of ['upstream', 'downstream'])
        await p.addToxic({
          type: 'idle_timeout',
          stream,
          toxicity: 1,
          attributes: { timeout: 1000, reset },
        } as never);
      for (let i = 0; i < 6; i++) {
        c.sock.write(String(i));
        await sleep(100);
      }
      await waitFor(() => c.state.data.toString() === '012345', 1000, 'kept alive');
      await sleep(1500);
      c.sock.write('x');
      if (reset) {
        await waitFor(
          () => c.state.error === 'ECONNRESET',
          2000,
          () => `error: ${c.state.error}`,
        );
      } else {
        c.sock.end();
        await waitFor(
          () => connectionsOf(p.name)[0]?.client.readableEnded,
          2000,
          'the proxy read the x and the FIN',
        );
        await assertStays(
          () => {
            assert.equal(c.state.data.toString(), '012345', 'nothing crossed after the timeout');
            assert.equal(c.state.ended || c.state.error !== '', false, 'no FIN or RST came back');
          },
          QUIET_MS,
          'the forgotten connection stays silent',
        );
        c.sock.destroy();
      }
    });
  }

  it('disabling closes connections with FIN and refuses new ones; enabling accepts again', async () => {
    const p = await newProxy();
    const c = client(portOf(p.listen));
    await c.connected;
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    await waitFor(() => c.state.ended, 2000, 'FIN reached the client');
    assert.equal(c.state.error, '');
    const refused = client(portOf(p.listen));
    await waitFor(
      () => refused.state.error === 'ECONNREFUSED',
      2000,
      () => refused.state.error,
    );
    await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
    const again = client(portOf(p.listen));
    await again.connected;
    again.sock.destroy();
  });

  it('timeout closes after its delay; limit_data after its bytes; slicer keeps bytes intact', async () => {
    const p = await newProxy();
    await p.addToxic({
      type: 'timeout',
      stream: 'upstream',
      toxicity: 1,
      attributes: { timeout: 200 },
    } as never);
    // The toxic's clock starts when the proxy accepts the connection, so time it from before the
    // connect: 200 ms at least (less 10 ms for timer rounding), and under 600 ms on a loaded machine.
    const t = performance.now();
    const c = client(portOf(p.listen));
    await c.connected;
    c.sock.write('lost');
    await waitFor(() => c.state.ended || c.state.closed, 2000, 'closed');
    const took = c.state.doneAt - t;
    assert.ok(took >= 190 && took < 600, `closed after ${took.toFixed(0)} ms`);
    assert.equal(c.state.data.length, 0, 'nothing got through before');

    const q = await newProxy();
    await q.addToxic({
      type: 'limit_data',
      stream: 'downstream',
      toxicity: 1,
      attributes: { bytes: 5 },
    } as never);
    const d = client(portOf(q.listen));
    await d.connected;
    d.sock.write('0123456789');
    await waitFor(() => d.state.closed, 2000, 'closed at the limit');
    assert.equal(d.state.data.toString(), '01234');

    const r = await newProxy();
    await r.addToxic({
      type: 'slicer',
      stream: 'downstream',
      toxicity: 1,
      attributes: { average_size: 3, size_variation: 1, delay: 1000 },
    } as never);
    const e = client(portOf(r.listen));
    await e.connected;
    const payload = randomBytes(300);
    e.sock.write(payload);
    await waitFor(() => e.state.data.length === 300, 3000, 'all 300 bytes');
    assert.ok(e.state.data.equals(payload), 'sliced, not changed');
    e.sock.destroy();
  });

  it('connections are listed, and a toxic can target chosen ones', async () => {
    const p = await newProxy();
    const a = client(portOf(p.listen));
    const b = client(portOf(p.listen));
    await Promise.all([a.connected, b.connected]);
    const listed = async () => {
      const res = await fetch(`http://${api.address}/proxies/${p.name}/connections`);
      return (await res.json()) as { id: number; client: string }[];
    };
    const list = await waitFor(
      async () => {
        const l = await listed();
        return l.length === 2 && l;
      },
      2000,
      'both connections listed',
    );
    const aId = list.find((x) => x.client.endsWith(`:${a.sock.localPort}`))!.id;
    await p.addToxic({
      type: 'blackhole',
      stream: 'upstream',
      toxicity: 1,
      attributes: {},
      connections: [aId],
    } as never);
    a.sock.write('a');
    b.sock.write('b');
    await waitFor(() => b.state.data.toString() === 'b', 1000, 'the other connection flows');
    await waitFor(
      () => (proxies.proxies.get(p.name)!.connections.get(aId)?.client.bytesRead ?? 0) > 0,
      2000,
      'the proxy read what the chosen connection sent',
    );
    await assertStays(
      () => a.state.data.length === 0,
      QUIET_MS,
      'the chosen connection is blackholed',
    );
    a.sock.destroy();
    b.sock.destroy();
  });

  it('bad requests get Toxiproxy-style errors', async () => {
    const p = await newProxy();
    const post = (path: string, body: unknown) =>
      fetch(`http://${api.address}${path}`, { method: 'POST', body: JSON.stringify(body) });
    let r = await post(`/proxies/${p.name}/toxics`, { type: 'meteor' });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /unknown toxic type 'meteor'/);
    r = await post('/proxies', { name: p.name, upstream: '127.0.0.1:1' });
    assert.equal(r.status, 409);
    r = await fetch(`http://${api.address}/proxies/nope`);
    assert.equal(r.status, 404);
    assert.deepEqual(await r.json(), { error: 'proxy not found: nope', status: 404 });
  });
});

describe('load and integrity', () => {
  it('2000 concurrent connections of checksummed data: nothing lost, reordered or corrupted; closing frees everything', async () => {
    const proxies = new ProxyServer();
    const echo = await echoServer();
    try {
      const p = await proxies.create({ name: 'load', upstream: `127.0.0.1:${echo.port}` });
      const port = portOf(p.listen);
      const N = 2000;
      const SIZE = 64 * 1024;
      const rssBefore = process.memoryUsage().rss;
      const one = async (): Promise<boolean> => {
        const payload = randomBytes(SIZE);
        const want = createHash('sha256').update(payload).digest('hex');
        const c = client(port);
        await c.connected;
        c.sock.end(payload);
        // Polled every 100 ms: 2000 of these wait at once.
        await waitFor(() => c.state.ended, 60_000, 'the whole payload echoed', 100);
        const ok = createHash('sha256').update(c.state.data).digest('hex') === want;
        c.sock.destroy();
        return ok;
      };
      const results = await Promise.all(Array.from({ length: N }, one));
      assert.equal(results.filter(Boolean).length, N, 'every byte came back, in order');
      const grewMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      // 2000 x 64 KiB x 2 directions is 250 MiB of traffic; the proxy keeps at most 1 MiB per
      // link queued, so what stays resident is a fraction of it.
      assert.ok(grewMiB < 400, `resident memory grew ${grewMiB.toFixed(0)} MiB`);
      await waitFor(
        () => p.connections.size === 0,
        5000,
        () => `${p.connections.size} left`,
      );
      await proxies.closeAll();
      assert.equal(proxies.proxies.size, 0);
      const refused = client(port);
      await waitFor(
        () => refused.state.error === 'ECONNREFUSED',
        2000,
        () => `refused: ${refused.state.error}`,
      );
    } finally {
      await proxies.closeAll();
      echo.server.close();
    }
  });
});

describe('halfopen proxy serve', () => {
  it('serves the API without root until Ctrl-C; the shell subcommands drive it', async (t) => {
    const serve = startCli(['proxy', 'serve', '--api', '127.0.0.1:0', '--json']);
    // A failed assertion must not leave the server running (and this file waiting for it).
    t.after(() => serve.signal('SIGKILL'));
    const line = await serve.waitFor(
      () => serve.stdout.includes('\n') && serve.stdout,
      10_000,
      'the API address on stdout',
    );
    const { api } = JSON.parse(line) as { api: string };
    const toxiproxy = new Toxiproxy(api);
    const p = await toxiproxy.createProxy({
      name: 'x',
      listen: '127.0.0.1:0',
      upstream: '127.0.0.1:9',
    });
    assert.ok(portOf(p.listen) > 0);
    // The shell subcommands talk to the same API.
    const address = api.replace('http://', '');
    const sh = (...args: string[]) => runCli(['proxy', ...args, '--api', address]);
    // A heal far beyond the test, so a slow machine cannot see it heal before `remove`.
    let r = await sh('toxic', 'x', 'blackhole', '--stream', 'upstream', '--attr', 'heal=600000');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'added toxic blackhole_upstream to x');
    r = await sh('list', '--json');
    const listed = r.json<Record<string, { toxics: { type: string }[] }>>();
    assert.deepEqual(
      listed.x!.toxics.map((t) => t.type),
      ['blackhole'],
    );
    r = await sh('toxic', 'x', 'meteor');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^halfopen: proxy API: unknown toxic type 'meteor'/);
    r = await sh('remove', 'x', 'blackhole_upstream');
    assert.equal(r.code, 0, r.stderr);
    serve.signal('SIGINT');
    assert.equal((await serve.exited).code, 130);
    const refused = client(portOf(p.listen));
    await waitFor(() => refused.state.error === 'ECONNREFUSED', 2000, 'proxies closed');
  });

  it('a bad --api: one line (exit 2)', async () => {
    await assertBadInput(
      () => proxyServeCommand({ api: 'nope' }, new AbortController().signal),
      /^--api 'nope' is not host:port$/,
    );
  });
});
