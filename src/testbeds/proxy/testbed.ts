/**
 * The proxy testbed: the lab without root, on loopback. The target listens on 127.0.0.1 at a
 * free port; the client reaches it through the userland fault proxy, and every fault on the path
 * is a toxic (or a signal to the target), as the fault's definition says (src/faults/).
 * The proxy's kernel ACKs the client's data, so TCP keepalive and TCP_USER_TIMEOUT see a healthy
 * peer through a blackhole: that is what a proxy in the path does, and results say so.
 */
import { spawnHeld } from '../held.js';
import net from 'node:net';
import { LabError } from '../../errors.js';
import { ProxyServer, type Proxy } from '../../proxy/proxy.js';
import type { FaultImpl, ProxyControl, ProxyFaultContext } from '../../faults/types.js';
import type { Teardowns } from '../../util/teardown.js';
import { spawnLab } from '../netns/exec.js';
import { dirPrefix } from '../netns/names.js';
import { PrivateDir } from '../private-dir.js';
import type { LabProcess } from '../../core/process.js';
import type { BoundFault, LiveExperiment, ServerSite, Testbed } from '../types.js';
import { singleSite } from '../site.js';

const LOOPBACK = '127.0.0.1';

/**
 * A port for the target, held by a placeholder listener until `release` closes it: while it is
 * held the kernel hands that port to nobody else (the fault proxy's own listener among them).
 */
async function reservePort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, LOOPBACK, () => r()));
  const { port } = server.address() as net.AddressInfo;
  return { port, release: () => new Promise<void>((r) => server.close(() => r())) };
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

  /** The experiment's fault, as the fault proxy puts it on the path. */
  private fault!: FaultImpl<ProxyFaultContext>;

  static async create(
    opts: {
      runId: string;
      index: number;
      fault: FaultImpl<ProxyFaultContext>;
    },
    teardowns: Teardowns,
  ): Promise<ProxyTestbed> {
    // The target's port stays reserved until the proxy listens, so the kernel cannot give the
    // proxy the same port (it would forward to itself); the target binds it a moment later.
    const reserved = await reservePort();
    teardowns.defer('release the reserved target port', reserved.release);
    const bed = new ProxyTestbed(teardowns, reserved.port, dirPrefix(opts.runId, opts.index));
    bed.fault = opts.fault;
    teardowns.defer('close the fault proxy', () => bed.proxies.closeAll());
    bed.proxy = await bed.proxies.create({
      name: 'target',
      listen: `${LOOPBACK}:0`,
      upstream: `${LOOPBACK}:${bed.targetPort}`,
    });
    await reserved.release();
    if (bed.clientDial().port === bed.targetPort)
      throw new LabError('the fault proxy was given the target port');
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
    return spawnHeld(this.teardowns, what, () => spawnLab(argv, env));
  }

  sites(): readonly ServerSite[] {
    return [singleSite(this, this.targetHost)];
  }

  onNewSite(): void {
    // One server, never replaced by a new site.
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

  bindFault(live: LiveExperiment): Promise<BoundFault> {
    const fault = this.fault;
    const proxy = this.proxy;
    const control: ProxyControl = {
      addToxics(list, scope) {
        const connections = scope === 'open' ? [...proxy.connections.keys()] : undefined;
        for (const t of list)
          proxy.addToxic({
            attributes: {},
            ...t,
            toxicity: 1,
            ...(connections ? { connections } : {}),
          });
      },
      removeToxics(names) {
        for (const name of names) proxy.removeToxic(name);
      },
    };
    const ctx: ProxyFaultContext = {
      spec: live.spec,
      proxy: control,
      get target() {
        return live.target();
      },
      mark: live.mark,
    };
    return Promise.resolve({
      flow: null,
      apply: () => fault.apply(ctx),
      ...(fault.heal ? { heal: () => fault.heal!(ctx) } : {}),
      ...(fault.beforeRestart ? { beforeRestart: () => fault.beforeRestart!(ctx) } : {}),
    });
  }
}
