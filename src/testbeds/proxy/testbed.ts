/**
 * The proxy testbed: the lab without root, on loopback. The target listens on 127.0.0.1 at a
 * free port; the client reaches it through the userland fault proxy, and every fault on the path
 * is a toxic:
 *   graceful -> SIGTERM to the target (its FIN crosses the proxy), kill -> SIGKILL,
 *   partition -> blackhole both ways (heal removes it), reset -> reset_peer on the connection.
 * The proxy's kernel ACKs the client's data, so TCP keepalive and TCP_USER_TIMEOUT see a healthy
 * peer through a blackhole: that is what a proxy in the path does, and results say so.
 */
import net from 'node:net';
import type { LabEvent } from '../../events.js';
import { LabError } from '../../errors.js';
import { within } from '../../util/clock.js';
import { ProxyServer, type Proxy } from '../../proxy/proxy.js';
import type { FaultName, IdleTimeout } from '../../scenario/spec.js';
import type { Teardowns } from '../../util/teardown.js';
import { spawnLab } from '../netns/exec.js';
import { dirPrefix } from '../netns/names.js';
import { PrivateDir } from '../private-dir.js';
import type { LabProcess } from '../process.js';
import type { BoundFault, Testbed } from '../types.js';

const LOOPBACK = '127.0.0.1';

/** A port nothing listens on right now (the target binds it a moment later). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, LOOPBACK, () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export class ProxyTestbed implements Testbed {
  readonly name = 'proxy' as const;
  readonly targetHost = LOOPBACK;
  private readonly dir: PrivateDir;
  private readonly proxies = new ProxyServer();
  private proxy!: Proxy;

  private constructor(
    private readonly teardowns: Teardowns,
    readonly targetPort: number,
    prefix: string,
  ) {
    this.dir = new PrivateDir(prefix, teardowns);
  }

  /** The latency fault's delay, when the experiment has one. */
  private latency: { ms: number; jitterMs: number } | undefined;
  /** The idle-timeout fault's timeout and expiry, when the experiment has one. */
  private idleTimeout: IdleTimeout | undefined;

  static async create(
    opts: {
      runId: string;
      index: number;
      latency?: { ms: number; jitterMs: number };
      idleTimeout?: IdleTimeout;
    },
    teardowns: Teardowns,
  ): Promise<ProxyTestbed> {
    const bed = new ProxyTestbed(teardowns, await freePort(), dirPrefix(opts.runId, opts.index));
    bed.latency = opts.latency;
    bed.idleTimeout = opts.idleTimeout;
    teardowns.defer('close the fault proxy', () => bed.proxies.closeAll());
    bed.proxy = await bed.proxies.create({
      name: 'target',
      listen: `${LOOPBACK}:0`,
      upstream: `${LOOPBACK}:${bed.targetPort}`,
    });
    // The kernel may hand the proxy the port just freed for the target: never forward to itself.
    if (bed.clientDial().port === bed.targetPort)
      throw new LabError('the fault proxy was given the target port; run the experiment again');
    return bed;
  }

  clientDial(): { host: string; port: number } {
    return { host: LOOPBACK, port: Number(this.proxy.listen.split(':').pop()) };
  }

  spawn(
    _role: 'client' | 'server',
    argv: readonly string[],
    what: string,
    env?: Record<string, string>,
  ): LabProcess {
    // Registered before the process exists; it learns the process once spawned.
    const held: { proc?: LabProcess } = {};
    this.teardowns.defer(`stop ${what}`, async () => {
      const { proc } = held;
      if (!proc) return;
      proc.kill('SIGKILL');
      await within(proc.exited, 5000);
    });
    held.proc = spawnLab(argv, env);
    return held.proc;
  }

  privateDir(): string {
    return this.dir.path();
  }

  writeFiles(files: Record<string, string>): void {
    this.dir.write(files);
  }

  /** Bytes the proxy passed each way, over the connections still open. */
  readCounters(): Promise<Map<string, number>> {
    let up = 0;
    let down = 0;
    for (const c of this.proxy.connections.values()) {
      up += c.upstreamLink.bytes;
      down += c.downstreamLink.bytes;
    }
    return Promise.resolve(
      new Map([
        ['proxy:bytes_upstream', up],
        ['proxy:bytes_downstream', down],
      ]),
    );
  }

  /** The restart gate: the proxy stops listening, so the client's connects are refused. */
  async gate(closed: boolean): Promise<void> {
    if (closed) await this.proxy.disable();
    else await this.proxy.enable();
  }

  bindFault(
    name: FaultName,
    live: { target: () => LabProcess; mark: (e: LabEvent) => void },
  ): Promise<BoundFault> {
    const { mark } = live;
    const signal = (sig: NodeJS.Signals) => async (): Promise<void> => {
      mark({ type: 'fault', name, phase: 'start' });
      live.target().kill(sig);
      mark({ type: 'target_signal', signal: sig });
      if (sig === 'SIGKILL') await live.target().exited;
      mark({ type: 'fault', name, phase: 'applied' });
    };
    // Faults hit the connections open at T0 only (the client's reconnects pass, as on netns);
    // a slow path and a middlebox's policy hit every connection, new ones too.
    const toxics =
      (
        list: { name: string; type: string; stream: string; attributes?: Record<string, number> }[],
        scope: 'open' | 'all' = 'open',
      ) =>
      (): Promise<void> => {
        const connections = scope === 'open' ? [...this.proxy.connections.keys()] : undefined;
        mark({ type: 'fault', name, phase: 'start' });
        for (const t of list)
          this.proxy.addToxic({
            attributes: {},
            ...t,
            toxicity: 1,
            ...(connections ? { connections } : {}),
          });
        mark({ type: 'fault', name, phase: 'applied' });
        return Promise.resolve();
      };
    /** The same toxic on both streams, named `<prefix>_upstream` and `<prefix>_downstream`. */
    const bothWays = (prefix: string, type: string, attributes: Record<string, number> = {}) =>
      (['upstream', 'downstream'] as const).map((stream) => ({
        name: `${prefix}_${stream}`,
        type,
        stream,
        attributes,
      }));
    switch (name) {
      case 'graceful':
        return Promise.resolve({ flow: null, apply: signal('SIGTERM') });
      case 'kill':
        return Promise.resolve({ flow: null, apply: signal('SIGKILL') });
      case 'partition':
        return Promise.resolve({
          flow: null,
          apply: toxics(bothWays('partition', 'blackhole')),
          heal: () => {
            mark({ type: 'heal', phase: 'start' });
            mark({ type: 'heal', phase: 'applied' });
            for (const t of bothWays('partition', 'blackhole')) this.proxy.removeToxic(t.name);
            return Promise.resolve();
          },
        });
      case 'proxy-dead-upstream':
        // The proxy is already in the path: its upstream goes silent and stays so.
        return Promise.resolve({
          flow: null,
          apply: toxics(bothWays('dead', 'blackhole')),
        });
      case 'latency': {
        const { ms = 0, jitterMs = 0 } = this.latency ?? {};
        const attributes = { latency: ms, jitter: jitterMs };
        return Promise.resolve({
          flow: null,
          apply: toxics(bothWays('latency', 'latency', attributes), 'all'),
        });
      }
      case 'reset':
        return Promise.resolve({
          flow: null,
          apply: toxics([{ name: 'reset', type: 'reset_peer', stream: 'downstream' }]),
        });
      case 'idle-timeout': {
        const { ms = 0, onExpiry = 'drop' } = this.idleTimeout ?? {};
        const attributes = { timeout: ms, reset: onExpiry === 'reset' ? 1 : 0 };
        return Promise.resolve({
          flow: null,
          apply: toxics(bothWays('idle', 'idle_timeout', attributes), 'all'),
        });
      }
      default:
        throw new LabError(`fault ${name} is not available on the proxy testbed`);
    }
  }
}
