/**
 * `proxy serve`'s GET /metrics: real proxies, real TCP traffic through them to a real echo server
 * on loopback, /metrics scraped over HTTP and parsed as Prometheus would. No root needed. No
 * timing is asserted: every wait polls a condition.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { serveApi } from '../src/proxy/api.js';
import { ProxyServer } from '../src/proxy/proxy.js';
import { waitFor } from './helpers.js';
import { echoServer, key, parseExposition, portOf, roundTrip } from './proxy-wire.js';

describe('GET /metrics', () => {
  const proxies = new ProxyServer();
  let api: Awaited<ReturnType<typeof serveApi>>;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  const base = (): string => `http://${api.address}`;
  const scrape = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${base()}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), new Registry().contentType);
    return parseExposition(await res.text());
  };
  /** Polls the scrape until `name{labels}` reads `want`; returns the last scrape. */
  const scrapeUntil = async (
    name: string,
    labels: Record<string, string>,
    want: number | undefined,
  ): Promise<Map<string, number>> => {
    let last = new Map<string, number>();
    await waitFor(
      async () => (last = await scrape()).get(key(name, labels)) === want,
      10_000,
      () => `${key(name, labels)} = ${want}, read ${last.get(key(name, labels))}`,
    );
    return last;
  };
  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${base()}${path}`, { method: 'POST', body: JSON.stringify(body) });

  before(async () => {
    echo = await echoServer();
    api = await serveApi(proxies, '127.0.0.1', 0);
  });
  after(async () => {
    await proxies.closeAll();
    api.http.close();
    echo.server.close();
  });

  it('counts connections and the exact bytes each way, before and after they close', async () => {
    const p = await proxies.create({ name: 'bytes', upstream: `127.0.0.1:${echo.port}` });
    const proxy = { proxy: 'bytes' };
    let m = await scrape();
    assert.equal(m.get(key('connections_accepted_total', proxy)), 0);
    assert.equal(m.get(key('connections_open', proxy)), 0);
    assert.equal(m.get(key('enabled', proxy)), 1);
    // Sizes that take one chunk and many.
    const sizes = [1000, 70_000, 300_001];
    const socks = [];
    for (const n of sizes) socks.push(await roundTrip(portOf(p.listen), randomBytes(n)));
    const total = sizes.reduce((a, b) => a + b);
    m = await scrape();
    assert.equal(m.get(key('connections_accepted_total', proxy)), 3);
    assert.equal(m.get(key('connections_open', proxy)), 3);
    assert.equal(m.get(key('forwarded_bytes_total', { ...proxy, direction: 'upstream' })), total);
    assert.equal(m.get(key('forwarded_bytes_total', { ...proxy, direction: 'downstream' })), total);
    for (const s of socks) s.end();
    m = await scrapeUntil('connections_open', proxy, 0);
    assert.equal(m.get(key('connections_accepted_total', proxy)), 3);
    // Gone connections' bytes stay counted, and a live one's add to them.
    const more = await roundTrip(portOf(p.listen), randomBytes(4321));
    m = await scrape();
    assert.equal(m.get(key('connections_accepted_total', proxy)), 4);
    assert.equal(m.get(key('connections_open', proxy)), 1);
    for (const direction of ['upstream', 'downstream'])
      assert.equal(m.get(key('forwarded_bytes_total', { ...proxy, direction })), total + 4321);
    more.destroy();
    await proxies.remove('bytes');
    m = await scrape();
    assert.ok(
      ![...m.keys()].some((k) => k.includes('proxy="bytes"')),
      "a removed proxy's series go with it",
    );
  });

  it('shows toxics while they are set, and whether the proxy is enabled', async () => {
    await proxies.create({ name: 'tox', upstream: `127.0.0.1:${echo.port}` });
    const latency = { proxy: 'tox', type: 'latency', stream: 'downstream' };
    const blackhole = { proxy: 'tox', type: 'blackhole', stream: 'upstream' };
    let r = await post('/proxies/tox/toxics', { type: 'latency', attributes: { latency: 5 } });
    assert.equal(r.status, 200);
    r = await post('/proxies/tox/toxics', { type: 'blackhole', stream: 'upstream' });
    assert.equal(r.status, 200);
    let m = await scrape();
    assert.equal(m.get(key('toxics_active', latency)), 1);
    assert.equal(m.get(key('toxics_active', blackhole)), 1);
    r = await fetch(`${base()}/proxies/tox/toxics/latency_downstream`, { method: 'DELETE' });
    assert.equal(r.status, 204);
    m = await scrape();
    assert.equal(m.get(key('toxics_active', latency)), undefined, 'a removed toxic is gone');
    assert.equal(m.get(key('toxics_active', blackhole)), 1);
    await post('/proxies/tox', { enabled: false });
    m = await scrape();
    assert.equal(m.get(key('enabled', { proxy: 'tox' })), 0);
    await post('/reset', {});
    m = await scrape();
    assert.equal(m.get(key('enabled', { proxy: 'tox' })), 1);
    assert.equal(m.get(key('toxics_active', blackhole)), undefined);
  });

  it('counts connections a toxic reset or closed, and the bytes it dropped', async () => {
    const p = await proxies.create({ name: 'harm', upstream: `127.0.0.1:${echo.port}` });
    await post('/proxies/harm/toxics', { type: 'reset_peer', stream: 'downstream' });
    // reset_peer acts at once: each connection is reset as it opens.
    for (let i = 0; i < 2; i++) {
      const s = net.connect(portOf(p.listen), '127.0.0.1');
      s.on('error', () => undefined);
    }
    const reset = { proxy: 'harm', type: 'reset_peer', action: 'reset' };
    await scrapeUntil('toxic_connections_total', reset, 2);
    await fetch(`${base()}/proxies/harm/toxics/reset_peer_downstream`, { method: 'DELETE' });
    await scrapeUntil('connections_open', { proxy: 'harm' }, 0);

    // limit_data lets 100 bytes through upstream, drops the rest and closes the connection.
    await post('/proxies/harm/toxics', {
      type: 'limit_data',
      stream: 'upstream',
      attributes: { bytes: 100 },
    });
    const s = net.connect(portOf(p.listen), '127.0.0.1');
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.write(randomBytes(250));
    const close = { proxy: 'harm', type: 'limit_data', action: 'close' };
    const limited = { proxy: 'harm', type: 'limit_data', stream: 'upstream' };
    await scrapeUntil('toxic_connections_total', close, 1);
    await scrapeUntil('connections_open', { proxy: 'harm' }, 0);
    const m = await scrape();
    const dropped = key('toxic_dropped_bytes_total', limited);
    assert.equal(m.get(dropped), 150, 'all but the 100 bytes allowed');
    const up = key('forwarded_bytes_total', { proxy: 'harm', direction: 'upstream' });
    assert.equal(m.get(up), 100);
    assert.equal(m.get(key('toxic_connections_total', reset)), 2, 'earlier counts stay');
    s.destroy();
  });

  it('two servers in one process keep their metrics apart', async () => {
    const other = new ProxyServer();
    const otherApi = await serveApi(other, '127.0.0.1', 0);
    try {
      await other.create({ name: 'elsewhere', upstream: `127.0.0.1:${echo.port}` });
      const theirs = parseExposition(
        await (await fetch(`http://${otherApi.address}/metrics`)).text(),
      );
      assert.equal(theirs.get(key('enabled', { proxy: 'elsewhere' })), 1);
      const ours = await scrape();
      assert.equal(ours.get(key('enabled', { proxy: 'elsewhere' })), undefined);
    } finally {
      await other.closeAll();
      otherApi.http.close();
    }
  });

  it('the parser rejects what is not the text format', () => {
    assert.throws(() => parseExposition('halfopen_proxy_x 1\n'), /HELP and TYPE/);
    assert.throws(() => parseExposition('# HELP a b\n# TYPE a gauge\na{x=1} 2\n'), /not a line/);
  });
});
