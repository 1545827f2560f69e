/**
 * `npm run bench:proxy`: what the fault proxy costs when it injects nothing, measured in one run
 * beside a direct loopback connection and beside socat (Debian) as a relay:
 *   - throughput: 256 MiB through one connection into a discarding server;
 *   - added latency: 1-byte request/response round trips (p50, p99) against an echo server.
 * The proxy and socat each run as a process of their own; the client and servers live here, the
 * same for every path. Aims (issue #5): throughput at least socat's; added p50 at most 100 us.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const BULK = 256 * 2 ** 20;
const ROUND_TRIPS = 5000;
const WARMUP = 500;

async function listen(
  handler: (s: net.Socket) => void,
): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ noDelay: true }, handler);
  await new Promise<void>((r) =>
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, () => r()),
  );
  return { server, port: (server.address() as net.AddressInfo).port };
}

async function freePort(): Promise<number> {
  const { server, port } = await listen(() => undefined);
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Sends BULK bytes; resolves with MB/s once the discarding server has them all. */
async function throughput(
  port: number,
  received: () => number,
  reset: () => void,
): Promise<number> {
  reset();
  const chunk = Buffer.alloc(1 << 20, 7);
  const start = performance.now();
  const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  for (let sent = 0; sent < BULK; sent += chunk.length)
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  while (received() < BULK) await new Promise((r) => setImmediate(r));
  const seconds = (performance.now() - start) / 1000;
  sock.destroy();
  return BULK / 2 ** 20 / seconds;
}

/** Round-trip times in microseconds, sorted. */
async function roundTrips(port: number): Promise<number[]> {
  const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const times: number[] = [];
  for (let i = 0; i < WARMUP + ROUND_TRIPS; i++) {
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      sock.once('data', () => resolve());
      sock.write('x');
    });
    if (i >= WARMUP) times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  sock.destroy();
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  let got = 0;
  const sink = await listen((s) => s.on('data', (d: Buffer) => (got += d.length)));
  const echo = await listen((s) => s.pipe(s));
  const children: ChildProcess[] = [];
  try {
    // The halfopen proxy, in its own process, with one proxy per server.
    const proxyProc = spawn(
      process.execPath,
      [CLI, 'proxy', 'serve', '--api', '127.0.0.1:0', '--json'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(proxyProc);
    const { api } = JSON.parse(
      await new Promise<string>((r) =>
        proxyProc.stdout.once('data', (d: Buffer) => r(d.toString())),
      ),
    ) as { api: string };
    const viaProxy = async (name: string, upstream: number): Promise<number> => {
      const res = await fetch(`${api}/proxies`, {
        method: 'POST',
        body: JSON.stringify({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${upstream}` }),
      });
      return Number(((await res.json()) as { listen: string }).listen.split(':').pop());
    };
    // socat as a relay, one per server.
    const viaSocat = async (upstream: number): Promise<number> => {
      const port = await freePort();
      const p = spawn(
        'socat',
        [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `TCP:127.0.0.1:${upstream},nodelay`],
        {
          stdio: 'ignore',
        },
      );
      children.push(p);
      await waitForPort(port);
      return port;
    };
    const paths = {
      direct: { sink: sink.port, echo: echo.port },
      halfopen: {
        sink: await viaProxy('sink', sink.port),
        echo: await viaProxy('echo', echo.port),
      },
      socat: { sink: await viaSocat(sink.port), echo: await viaSocat(echo.port) },
    };
    const results: Record<string, { mbs: number; p50: number; p99: number }> = {};
    for (const [name, ports] of Object.entries(paths)) {
      const mbs = await throughput(
        ports.sink,
        () => got,
        () => (got = 0),
      );
      const rtt = await roundTrips(ports.echo);
      results[name] = { mbs, p50: pct(rtt, 50), p99: pct(rtt, 99) };
      process.stdout.write(
        `  ${name.padEnd(9)} ${mbs.toFixed(0).padStart(6)} MiB/s   round trip p50 ${pct(rtt, 50).toFixed(1)} us, p99 ${pct(rtt, 99).toFixed(1)} us\n`,
      );
    }
    const { direct, halfopen, socat } = results as Record<
      'direct' | 'halfopen' | 'socat',
      { mbs: number; p50: number; p99: number }
    >;
    process.stdout.write(
      [
        `throughput: halfopen / socat = ${(halfopen.mbs / socat.mbs).toFixed(2)}x, halfopen / direct = ${(halfopen.mbs / direct.mbs).toFixed(2)}x`,
        `added latency over direct: halfopen p50 ${(halfopen.p50 - direct.p50).toFixed(1)} us, p99 ${(halfopen.p99 - direct.p99).toFixed(1)} us; socat p50 ${(socat.p50 - direct.p50).toFixed(1)} us, p99 ${(socat.p99 - direct.p99).toFixed(1)} us`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
    sink.server.close();
    echo.server.close();
  }
}

process.stdout.write(
  `bench:proxy: ${BULK / 2 ** 20} MiB bulk, ${ROUND_TRIPS} round trips per path\n`,
);
main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:proxy: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
