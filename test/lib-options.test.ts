/**
 * The library's option builders: the same search as `tune`, options the real libraries accept
 * and act on, and a package entry that loads none of the protocol libraries.
 *
 * Tolerances: a stale connection is expected within the predicted window plus 1 s (timers on a
 * loaded 2-core machine).
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import * as grpc from '@grpc/grpc-js';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import NetKeepAlive from 'net-keepalive';
import { tune } from '../src/advise/tune.js';
import { parseWorkload } from '../src/core/workload.js';
import {
  applySocketOptions,
  BadInputError,
  grpcOptions,
  h2Heartbeat,
  mqttOptions,
  natsOptions,
  socketHeartbeat,
  socketOptions,
  wsHeartbeat,
} from '../src/lib/index.js';
import { waitFor } from './helpers.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** `tune`'s recommendation of `kind` for the CLI's request. */
function tuned(
  target: Parameters<typeof tune>[0]['target'],
  kind: string,
  within: number,
  workload = 'idle',
) {
  const r = tune({
    target,
    workload: parseWorkload(workload),
    qos: 1,
    withinMs: within,
    tolerateMs: 1000,
    idleTimeoutMs: null,
  }).find((x) => x.kind === kind)!;
  assert.ok(r.strategy, r.why);
  return r as typeof r & { strategy: Record<string, unknown> };
}

describe('option builders', () => {
  it('give what tune recommends for the same request, with its window and why', () => {
    for (const within of [5000, 10_000, 60_000]) {
      const t = { within, tolerate: '1s' };
      const n = tuned('nats', 'nats', within);
      const no = natsOptions(t);
      assert.deepEqual(
        { ...no },
        {
          pingInterval: n.strategy.pingMs,
          maxPingOut: n.strategy.maxOut,
          reconnectTimeWait: n.strategy.waitMs,
          maxReconnectAttempts: n.strategy.attempts,
        },
      );
      assert.deepEqual([no.window, no.why], [n.window, n.why]);
      const m = tuned('mqtt', 'mqtt', within);
      assert.deepEqual(
        { ...mqttOptions(t) },
        { keepalive: (m.strategy.keepaliveMs as number) / 1000, reconnectPeriod: 1000 },
      );
      const g = tuned('grpc', 'grpc', within);
      assert.deepEqual(
        { ...grpcOptions(t) },
        {
          'grpc.keepalive_time_ms': g.strategy.timeMs,
          'grpc.keepalive_timeout_ms': g.strategy.timeoutMs,
          'grpc.keepalive_permit_without_calls': 1,
        },
      );
      const w = tuned('ws', 'ws', within);
      assert.deepEqual(
        { ...wsHeartbeat(t) },
        { interval: w.strategy.pingMs, timeout: w.strategy.timeoutMs },
      );
      const h = tuned('h2', 'h2', within);
      assert.deepEqual(
        { ...h2Heartbeat(t) },
        { interval: h.strategy.pingMs, timeout: h.strategy.timeoutMs },
      );
      const hb = tuned('tcp', 'heartbeat', within);
      assert.deepEqual(
        { ...socketHeartbeat(t) },
        { interval: hb.strategy.intervalMs, timeout: hb.strategy.timeoutMs },
      );
      const k = tuned('tcp', 'keepalive', within);
      const u = tuned('tcp', 'user-timeout', within, 'publish:10');
      const so = socketOptions(t);
      assert.deepEqual(so.keepalive, {
        idleMs: k.strategy.idleMs,
        intervalMs: k.strategy.intervalMs,
        count: k.strategy.count,
      });
      assert.equal(so.userTimeoutMs, u.strategy.timeoutMs);
      assert.deepEqual(so.window, k.window);
    }
  });

  it('spreading a result passes the library only its options', () => {
    const o = natsOptions({ within: '10s' });
    assert.deepEqual(Object.keys({ ...o }).sort(), [
      'maxPingOut',
      'maxReconnectAttempts',
      'pingInterval',
      'reconnectTimeWait',
    ]);
    assert.deepEqual(o.window, [5000, 10_000]);
  });

  it('bad input: a target nothing meets, a duration that is not one', () => {
    assert.throws(
      () => mqttOptions({ within: '1s' }),
      (e) => e instanceof BadInputError && /whole seconds/.test(e.message),
    );
    assert.throws(() => natsOptions({ within: 'soon' }), /within: 'soon' is not a duration/);
    assert.throws(() => wsHeartbeat({ within: -5 }), BadInputError);
  });
});

describe('the real libraries take the options', () => {
  it(
    'nats.js with natsOptions notices a frozen nats-server inside the window',
    { skip: spawnSync('nats-server', ['--version']).status === 0 ? false : 'needs nats-server' },
    async () => {
      const port = await freePort();
      const server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], {
        stdio: 'ignore',
      });
      try {
        const opts = natsOptions({ within: '2s', tolerate: '1s' });
        const nc = await waitFor(
          () => connect({ servers: `127.0.0.1:${port}`, ...opts }).catch(() => null),
          10_000,
          'nats-server up',
        );
        await nc.flush();
        let staleAt = 0;
        void (async () => {
          for await (const s of nc.status())
            if (s.type === 'staleConnection' && !staleAt) staleAt = performance.now();
        })();
        // SIGSTOP: the server's kernel keeps the connection, but no PONG comes.
        const frozenAt = performance.now();
        server.kill('SIGSTOP');
        await waitFor(() => staleAt > 0, 10_000, 'stale connection');
        const took = staleAt - frozenAt;
        assert.ok(
          took >= opts.window[0] - 1000 && took <= opts.window[1] + 1000,
          `stale after ${took} ms, window ${opts.window.join('-')} ms`,
        );
        server.kill('SIGCONT');
        await nc.close().catch(() => undefined);
      } finally {
        server.kill('SIGCONT');
        server.kill('SIGKILL');
      }
    },
  );

  it('MQTT.js with mqttOptions connects and keeps its keepalive', async () => {
    const broker = await Aedes.createBroker();
    const srv = net.createServer(broker.handle);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const opts = mqttOptions({ within: '10s' });
    const client = mqtt.connect({
      host: '127.0.0.1',
      port: (srv.address() as net.AddressInfo).port,
      ...opts,
    });
    await new Promise((r, j) => (client.once('connect', r), client.once('error', j)));
    assert.equal(client.options.keepalive, opts.keepalive);
    await client.endAsync();
    srv.close();
    broker.close();
  });

  it('applySocketOptions sets what socketOptions chose: the kernel holds it', async () => {
    const srv = net.createServer(() => undefined);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const sock = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const opts = socketOptions({ within: '10s', tolerate: '2s', workload: 'publish:10' });
    await applySocketOptions(sock, opts);
    assert.equal(NetKeepAlive.getKeepAliveInterval(sock), opts.keepalive.intervalMs);
    assert.equal(NetKeepAlive.getKeepAliveProbes(sock), opts.keepalive.count);
    assert.equal(NetKeepAlive.getUserTimeout(sock), opts.userTimeoutMs);
    sock.destroy();
    srv.close();
  });
});

describe("import from 'halfopen/lib'", () => {
  it('resolves by package name, typed, and loads none of the protocol libraries', () => {
    const dir = mkdtempSync(join(tmpdir(), 'halfopen-lib-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(REPO, join(dir, 'node_modules', 'halfopen'));
      // A load hook (it runs in its own thread) that writes every module loaded to stderr (a resolve
      // hook would also see the lab's version look-ups, import.meta.resolve, which load nothing).
      writeFileSync(
        join(dir, 'hooks.mjs'),
        "import { writeSync } from 'node:fs';\nexport async function load(u, c, next) { writeSync(2, `loaded ${u}\\n`); return next(u, c); }\n",
      );
      writeFileSync(
        join(dir, 'register.mjs'),
        "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
      );
      writeFileSync(
        join(dir, 'app.mjs'),
        "import { natsOptions, wsWatchdog, gracefulShutdown } from 'halfopen/lib';\nconsole.log(JSON.stringify({ ...natsOptions({ within: '10s' }) }), typeof wsWatchdog, typeof gracefulShutdown);\n",
      );
      const r = spawnSync(process.execPath, ['--import', './register.mjs', 'app.mjs'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /"pingInterval":5000.* function function/);
      const loaded = r.stderr.split('\n').filter((l) => l.startsWith('loaded '));
      assert.ok(
        loaded.some((l) => l.includes('/dist/src/lib/index.js')),
        r.stderr,
      );
      const protocolLibs = loaded.filter((l) =>
        /node_modules\/(ws|mqtt|@grpc|@nats-io|net-keepalive|aedes)\//.test(l),
      );
      assert.deepEqual(protocolLibs, []);
      // CommonJS packages loaded through require() would not pass the hook: none may be in the
      // cache (the lab reads their package.json for its version strings, which loads no code).
      const cjs = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "import 'halfopen/lib'; import { createRequire } from 'node:module'; console.log(Object.keys(createRequire(import.meta.url).cache).join('\\n'))",
        ],
        { cwd: dir, encoding: 'utf8' },
      );
      assert.equal(cjs.status, 0, cjs.stderr);
      const code = cjs.stdout.split('\n').filter((f) => !f.endsWith('/package.json'));
      assert.deepEqual(
        code.filter((f) => /node_modules\/(ws|mqtt|@grpc|@nats-io|net-keepalive|aedes)\//.test(f)),
        [],
      );
      // The types: tsc resolves 'halfopen/lib' to its .d.ts through "exports".
      writeFileSync(
        join(dir, 'app.ts'),
        "import { natsOptions, type DetectionTarget } from 'halfopen/lib';\nconst t: DetectionTarget = { within: '10s' };\nconst n: number = natsOptions(t).pingInterval;\nexport { n };\n",
      );
      const tsc = spawnSync(
        process.execPath,
        [
          join(REPO, 'node_modules/typescript/bin/tsc'),
          '--noEmit',
          '--strict',
          '--module',
          'nodenext',
          '--moduleResolution',
          'nodenext',
          '--skipLibCheck',
          'app.ts',
        ],
        { cwd: dir, encoding: 'utf8' },
      );
      assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('grpc-js takes grpcOptions', () => {
  it('a channel with grpcOptions leaves READY inside the window when the server freezes', async () => {
    const server = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/lib-server.js', import.meta.url))],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      server.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const port = await waitFor(() => /"grpc":(\d+)/.exec(out)?.[1], 10_000, 'the server listens');
      const opts = grpcOptions({ within: '2s', tolerate: '1s' });
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        ...opts,
      });
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())),
      );
      const channel = client.getChannel();
      let leftAt = 0;
      channel.watchConnectivityState(grpc.connectivityState.READY, Infinity, () => {
        leftAt = performance.now();
      });
      // SIGSTOP: the server's kernel keeps the connection, but no ping ack comes.
      const frozenAt = performance.now();
      server.kill('SIGSTOP');
      await waitFor(() => leftAt > 0, 10_000, 'the channel leaves READY');
      const took = leftAt - frozenAt;
      assert.ok(
        took >= opts.window[0] - 1000 && took <= opts.window[1] + 1000,
        `left READY after ${took} ms, window ${opts.window.join('-')} ms`,
      );
      client.close();
    } finally {
      server.kill('SIGCONT');
      server.kill('SIGKILL');
    }
  });
});
