/**
 * `proxy serve --config <file>` (Toxiproxy's config format): bad files checked in-process, an
 * address in use (exit 4), and a real `proxy serve` whose proxies carry traffic. No root needed;
 * every wait polls a condition.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createFromConfig, loadProxyConfig } from '../src/cli/proxy-config.js';
import { proxyServeCommand } from '../src/cli/proxy.js';
import { LabUnavailableError } from '../src/errors.js';
import { serveApi } from '../src/proxy/api.js';
import { ProxyServer } from '../src/proxy/proxy.js';
import { assertBadInput, assertOneLine, runCli, startCli } from './helpers.js';
import { echoServer, key, parseExposition, portOf, roundTrip } from './proxy-wire.js';

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
