/**
 * `proxy serve`'s GET /metrics and --config: real proxies, real TCP traffic through them to a
 * real echo server on loopback, /metrics scraped over HTTP and parsed as Prometheus would. No
 * root needed. No timing is asserted: every wait polls a condition.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createFromConfig, loadProxyConfig } from '../src/cli/proxy-config.js';
import { proxyServeCommand } from '../src/cli/proxy.js';
import { LabUnavailableError } from '../src/errors.js';
import { serveApi } from '../src/proxy/api.js';
import { ProxyServer } from '../src/proxy/proxy.js';
import { assertBadInput, assertOneLine, runCli, startCli, waitFor } from './helpers.js';

async function echoServer(): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, server };
}

const portOf = (listen: string): number => Number(listen.split(':').pop());

/** Connects, sends `payload`, and resolves once all of it has come back (the echo). */
async function roundTrip(port: number, payload: Buffer): Promise<net.Socket> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  let got = 0;
  sock.on('data', (d: Buffer) => (got += d.length));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(payload);
  await waitFor(() => got === payload.length, 10_000, `${payload.length} bytes echoed`);
  return sock;
}

const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf)$/;

/**
 * Parses Prometheus' text exposition format strictly: every line is a HELP, a TYPE, a sample or
 * blank, and every sample's metric has its HELP and TYPE before it. Series by `name{a="x",...}`
 * with labels in the order given.
 */
function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  const help = new Set<string>();
  const type = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    if (m) {
      help.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      type.add(m[1]!);
      continue;
    }
    m = SAMPLE.exec(line);
    assert.ok(m, `not a line of the text format: ${line}`);
    assert.ok(help.has(m[1]!) && type.has(m[1]!), `HELP and TYPE before ${line}`);
    series.set(`${m[1]!}{${m[2] ?? ''}}`, Number(m[3]));
  }
  return series;
}

/** A series' key: `name{a="x",b="y"}`, labels in the order the metric declares them. */
const key = (name: string, labels: Record<string, string>): string =>
  `halfopen_proxy_${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

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

describe('proxy serve --config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'halfopen-test-proxy-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('a bad file is one line quoting its path and the entry (exit 2), nothing created', async () => {
    const cases: [string, string, RegExp][] = [
      ['missing.json', '', /cannot read it: ENOENT/],
      ['broken.json', '[{"name": "a",', /not JSON: /],
      ['object.json', '{"name": "a"}', /expected a list of proxies .*, got \{"name":"a"\}$/],
      [
        'no-upstream.json',
        '[{"name": "a", "listen": "127.0.0.1:0"}]',
        /proxy 1 \{"name":"a","listen":"127\.0\.0\.1:0"\}: missing required field: upstream$/,
      ],
      [
        'no-listen.json',
        '[{"name": "a", "upstream": "127.0.0.1:1"}]',
        /proxy 1 .*: missing required field: listen$/,
      ],
      [
        'bad-port.json',
        '[{"name": "a", "listen": "127.0.0.1:99999", "upstream": "127.0.0.1:1"}]',
        /proxy 1 .*: listen '127\.0\.0\.1:99999' is not host:port$/,
      ],
      [
        'typo.json',
        '[{"name": "a", "listen": "127.0.0.1:0", "upstraem": "127.0.0.1:1", "upstream": "127.0.0.1:1"}]',
        /proxy 1 .*: unknown field upstraem \(expected: name, listen, upstream, enabled\)$/,
      ],
      [
        'enabled.json',
        '[{"name": "a", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1", "enabled": "yes"}]',
        /proxy 1 .*: enabled must be true or false, got "yes"$/,
      ],
      [
        'dup-name.json',
        '[{"name": "a", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}, {"name": "a", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:2"}]',
        /proxy 2 \{"name":"a",.*"upstream":"127\.0\.0\.1:2"\}: duplicate name a \(proxy 1 has it too\)$/,
      ],
      [
        'dup-listen.json',
        '[{"name": "a", "listen": "127.0.0.1:7", "upstream": "127.0.0.1:1"}, {"name": "b", "listen": "127.0.0.1:7", "upstream": "127.0.0.1:2"}]',
        /proxy 2 .*: duplicate listen 127\.0\.0\.1:7 \(proxy 1 has it too\)$/,
      ],
    ];
    for (const [name, text, re] of cases) {
      const path = text ? file(name, text) : join(dir, name);
      const message = await assertBadInput(() => loadProxyConfig(path), re, name);
      assert.ok(message.startsWith(`--config ${path}: `), `${name}: the path first: ${message}`);
    }
  });

  it('a listen address in use: exit 4 naming the entry; proxies created before it are closed', async () => {
    const taken = await echoServer();
    try {
      const path = file(
        'in-use.json',
        JSON.stringify([
          { name: 'first', listen: '127.0.0.1:0', upstream: '127.0.0.1:1' },
          { name: 'second', listen: `127.0.0.1:${taken.port}`, upstream: '127.0.0.1:1' },
        ]),
      );
      const server = new ProxyServer();
      const list = await loadProxyConfig(path);
      await assert.rejects(createFromConfig(server, path, list), (e: unknown) => {
        assert.ok(e instanceof LabUnavailableError, String(e));
        assert.match(
          e.message,
          new RegExp(
            `^--config ${path}: proxy 2 \\{"name":"second",.*\\}: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${taken.port}$`,
          ),
        );
        return true;
      });
      assert.equal(server.proxies.size, 0, 'the first proxy was closed again');

      // The process: one line, exit 4.
      const r = await runCli(['proxy', 'serve', '--api', '127.0.0.1:0', '--config', path]);
      assertOneLine(r, 4, /^halfopen: --config .*in-use\.json: proxy 2 .*EADDRINUSE/);
    } finally {
      taken.server.close();
    }
  });

  it('an --api address in use is the machine (LabUnavailableError), not bad input', async () => {
    const taken = await echoServer();
    try {
      await assert.rejects(
        proxyServeCommand({ api: `127.0.0.1:${taken.port}` }, new AbortController().signal),
        (e: unknown) => {
          assert.ok(e instanceof LabUnavailableError, String(e));
          assert.match(e.message, /^--api 127\.0\.0\.1:\d+: cannot listen: listen EADDRINUSE/);
          return true;
        },
      );
    } finally {
      taken.server.close();
    }
  });

  it('POST /populate checks every entry before creating any', async () => {
    const server = new ProxyServer();
    const api = await serveApi(server, '127.0.0.1', 0);
    try {
      const res = await fetch(`http://${api.address}/populate`, {
        method: 'POST',
        body: JSON.stringify([
          { name: 'good', listen: '127.0.0.1:0', upstream: '127.0.0.1:1' },
          { name: 'bad', listen: '127.0.0.1:0' },
        ]),
      });
      assert.equal(res.status, 400);
      assert.match(
        ((await res.json()) as { error: string }).error,
        /^proxy 2 \{"name":"bad".*\}: missing required field: upstream$/,
      );
      assert.deepEqual([...server.proxies.keys()], [], 'not even the good one');
    } finally {
      await server.closeAll();
      api.http.close();
    }
  });

  it('proxy serve --help documents --config and /metrics, with an example', async () => {
    const r = await runCli(['proxy', 'serve', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--config <file> /);
    assert.match(r.stdout, /plus GET \/proxies\/\{name\}\/connections\nand GET \/metrics/);
    assert.match(r.stdout, /^ {2}halfopen proxy serve --config proxies\.json$/m);
  });

  it('serves the proxies of a real file before the API reports ready; traffic flows', async (t) => {
    const echo = await echoServer();
    t.after(() => echo.server.close());
    const config = JSON.stringify([
      { name: 'echo', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}` },
      { name: 'spare', listen: '127.0.0.1:0', upstream: '127.0.0.1:9', enabled: false },
    ]);
    const serve = startCli(
      ['proxy', 'serve', '--api', '127.0.0.1:0', '--config', 'proxies.json', '--json'],
      { files: { 'proxies.json': config } },
    );
    t.after(() => serve.signal('SIGKILL'));
    const line = await serve.waitFor(
      () => serve.stdout.includes('\n') && serve.stdout,
      20_000,
      'the ready line on stdout',
    );
    const ready = JSON.parse(line) as { api: string; proxies: { name: string; listen: string }[] };
    assert.deepEqual(
      ready.proxies.map((p) => p.name),
      ['echo', 'spare'],
    );
    // Right at the ready line, the API already lists them.
    const listed = (await (await fetch(`${ready.api}/proxies`)).json()) as Record<
      string,
      { listen: string; upstream: string; enabled: boolean }
    >;
    assert.deepEqual(Object.keys(listed).sort(), ['echo', 'spare']);
    assert.equal(listed.echo!.upstream, `127.0.0.1:${echo.port}`);
    assert.equal(listed.echo!.enabled, true);
    assert.equal(listed.spare!.enabled, false);
    const payload = randomBytes(50_000);
    (await roundTrip(portOf(listed.echo!.listen), payload)).destroy();
    const m = parseExposition(await (await fetch(`${ready.api}/metrics`)).text());
    assert.equal(
      m.get(key('forwarded_bytes_total', { proxy: 'echo', direction: 'downstream' })),
      payload.length,
    );
    serve.signal('SIGINT');
    assert.equal((await serve.exited).code, 130);
  });
});
