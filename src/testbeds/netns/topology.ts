/**
 * The netns testbed: three namespaces joined by veth pairs through a router.
 *
 *   [client ns] eth0 ---- c0 [router ns] s0 ---- eth0 [server ns]
 *
 * The router stands for the nodes, kube-proxy and network in between: every fault on the path is
 * an iptables rule in the router's own netfilter tables. Both veth pairs are created *inside* the
 * router namespace with the peer moved straight into its namespace, so no interface, route or
 * rule ever exists in the root namespace.
 */
import { spawnHeld } from '../held.js';
import type { Endpoint } from '../../events.js';
import type { FaultImpl, NetnsFaultContext, RouterControl } from '../../faults/types.js';
import type { FaultSpec } from '../../faults/spec.js';
import { PrivateDir } from '../private-dir.js';
import type { BoundFault, LiveExperiment, ServerSite, Testbed } from '../types.js';
import { singleSite } from '../site.js';
import { LabError } from '../../errors.js';
import type { Teardowns } from '../../util/teardown.js';
import type { LabProcess } from '../../core/process.js';
import { type AddressBlock, allocateBlock, releaseBlock } from './addresses.js';
import { armTool, run, spawnInNamespace, type ArmedTool } from './exec.js';
import { dirPrefix, nsName, type Role } from './names.js';
import { establishedTo, sysctl, vethLink } from './plumbing.js';

export interface NetnsOptions {
  runId: string;
  index: number;
  /** net.ipv4.* sysctls for the client namespace. */
  clientSysctls: Record<string, number>;
  /** The target protocol's port (each experiment has its own addresses, so no clash). */
  targetPort: number;
  /** The experiment's fault: what it builds into the testbed, and how it is applied. */
  fault: FaultImpl<NetnsFaultContext>;
  spec: FaultSpec;
}

/** A rule set the router holds, by tag, so it can be removed and its counters read. */
interface RouterRules {
  lines: string[];
}

export class NetnsTestbed implements Testbed {
  readonly name = 'netns' as const;
  /** Every address of the server namespace: its lab address, and loopback for the sink. */
  readonly targetHost = '0.0.0.0';
  readonly addr: AddressBlock;
  readonly ns: Record<Role, string>;
  private readonly rules = new Map<string, RouterRules>();
  /** Packets matched per rule comment, accumulated across rules that were later removed. */
  private readonly counters = new Map<string, number>();

  private constructor(
    private readonly opts: NetnsOptions,
    private readonly teardowns: Teardowns,
  ) {
    this.targetPort = opts.targetPort;
    this.dir = new PrivateDir(dirPrefix(opts.runId, opts.index), teardowns);
    this.addr = allocateBlock();
    teardowns.defer('release address block', () => releaseBlock(this.addr));
    this.ns = {
      client: nsName(opts.runId, opts.index, 'client'),
      router: nsName(opts.runId, opts.index, 'router'),
      server: nsName(opts.runId, opts.index, 'server'),
    };
  }

  readonly targetPort: number;

  /** Where the client dials: the server, unless the fault put something in between. */
  private dialHost: string | null = null;

  clientDial(): { host: string; port: number } {
    return { host: this.dialHost ?? this.addr.server, port: this.targetPort };
  }

  /** The router, as far as a fault may touch it. */
  private routerControl(): RouterControl {
    return {
      addr: this.addr,
      targetPort: this.opts.targetPort,
      addRules: (tag, lines) => this.addRules(tag, lines),
      armRules: (tag, lines) => this.armRules(tag, lines),
      removeRules: (tag) => this.removeRules(tag),
      sysctl: (key, value) => this.sysctl(this.ns.router, key, value),
      exec: (argv, opts) => run(['ip', 'netns', 'exec', this.ns.router, ...argv], opts),
      spawn: (argv, what) => this.spawn('router', argv, what),
      removeServerHost: () => this.removeServerHost(),
      addServerHost: () => this.addServerHost(),
    };
  }

  get router(): RouterControl {
    return (this.routerView ??= this.routerControl());
  }

  private routerView: RouterControl | undefined;

  /** The restart gate: the router answers the client's SYNs to the target with RST. */
  async gate(closed: boolean): Promise<void> {
    if (!closed) return this.removeRules('restart-gate');
    await this.addRules('restart-gate', [
      `FORWARD -p tcp -s ${this.addr.client}/32 -d ${this.addr.server}/32 --dport ${this.targetPort} --syn -j REJECT --reject-with tcp-reset`,
    ]);
  }

  async bindFault(live: LiveExperiment): Promise<BoundFault> {
    const fault = this.opts.fault;
    const flow = await this.establishedFlow(this.targetPort);
    if (fault.needsFlow && !flow)
      throw new LabError(
        `the client has no established connection to ${this.addr.server}:${this.targetPort} to apply the fault to`,
      );
    const ctx: NetnsFaultContext = {
      spec: live.spec,
      router: this.router,
      get target() {
        return live.target();
      },
      flow: flow ?? {
        client: { address: this.addr.client, port: 0 },
        server: { address: this.addr.server, port: this.targetPort },
      },
      mark: live.mark,
    };
    return {
      flow,
      apply: () => fault.apply(ctx),
      ...(fault.heal ? { heal: () => fault.heal!(ctx) } : {}),
      ...(fault.beforeRestart ? { beforeRestart: () => fault.beforeRestart!(ctx) } : {}),
    };
  }

  static async create(opts: NetnsOptions, teardowns: Teardowns): Promise<NetnsTestbed> {
    const bed = new NetnsTestbed(opts, teardowns);
    await bed.build();
    return bed;
  }

  private async addNamespace(ns: string): Promise<void> {
    this.teardowns.defer(`delete namespace ${ns}`, () => deleteNamespace(ns));
    await run(['ip', 'netns', 'add', ns]);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** A veth pair from the router to `peerNs`, addressed as a /30, peer route via the router. */
  private async link(
    routerDev: string,
    routerAddr: string,
    peerNs: string,
    peerAddr: string,
  ): Promise<void> {
    const r = this.ns.router;
    // The pair dies with either namespace; registering the router-side delete covers a pair
    // whose peer move failed half way.
    this.teardowns.defer(`delete veth ${routerDev} in ${r}`, () =>
      run(['ip', '-n', r, 'link', 'del', routerDev], { allowFail: true }).then(() => undefined),
    );
    await vethLink(r, routerDev, routerAddr, peerNs, peerAddr);
  }

  private async build(): Promise<void> {
    const { client, router, server } = this.ns;
    // Before anything exists: a missing tool is one line naming its package.
    for (const tool of this.opts.fault.tools ?? []) await run([tool, '--version']);
    for (const ns of [client, router, server]) await this.addNamespace(ns);
    await this.sysctl(router, 'net.ipv4.ip_forward', 1);
    for (const [k, v] of Object.entries(this.opts.clientSysctls))
      await this.sysctl(client, `net.ipv4.${k}`, v);
    await this.link('c0', this.addr.routerClientSide, client, this.addr.client);
    await this.link('s0', this.addr.routerServerSide, server, this.addr.server);
    const dial = await this.opts.fault.prepare?.(this.router, this.opts.spec);
    if (dial) this.dialHost = dial.host;
  }

  private sysctl(ns: string, key: string, value: number): Promise<void> {
    return sysctl(ns, key, value);
  }

  private readonly dir: PrivateDir;

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

  /**
   * The client's established connection to the server's `port`, as the client namespace's kernel
   * sees it (`ss`), whatever library opened it. Null when there is none.
   */
  establishedFlow(port: number): Promise<{ client: Endpoint; server: Endpoint } | null> {
    return establishedTo(this.ns.client, this.addr.server, port);
  }

  /** Starts a process in a namespace; it is killed (and waited for) at teardown. */
  spawn(
    role: Role,
    argv: readonly string[],
    what: string,
    env?: Record<string, string>,
  ): LabProcess {
    return spawnHeld(this.teardowns, what, () => spawnInNamespace(this.ns[role], argv, env));
  }

  /**
   * Installs router rules atomically (one iptables-restore transaction) under a tag. Each line is
   * an `-A FORWARD ...` rule body without the tag comment; the comment is added here.
   */
  async addRules(tag: string, lines: string[]): Promise<void> {
    const tagged = lines.map((l, i) => `${l} -m comment --comment halfopen:${tag}:${i}`);
    this.teardowns.defer(`remove router rules ${tag}`, () => this.removeRules(tag));
    await this.ruleOp(async () => {
      await this.restore(tagged.map((l) => `-A ${l}`));
      // Known once in force, so that a removal never deletes rules that are not there.
      this.rules.set(tag, { lines: tagged });
    });
  }

  /**
   * Rule changes one at a time, in the order asked: a teardown's removal (Ctrl-C) that comes while
   * the same rules are still being added, or while the experiment itself removes them (the
   * restart gate opening), waits for that change instead of deleting what is not there yet.
   */
  private ruleOp(op: () => Promise<void>): Promise<void> {
    const next = this.ruleQueue.then(op);
    this.ruleQueue = next.catch(() => undefined);
    return next;
  }

  private ruleQueue: Promise<void> = Promise.resolve();

  /** Loads a tagged rule set into iptables-restore now; `commit` puts it in force. */
  armRules(tag: string, lines: string[]): Promise<{ commit(): Promise<void> }> {
    const tagged = lines.map((l, i) => `${l} -m comment --comment halfopen:${tag}:${i}`);
    const argv = ['ip', 'netns', 'exec', this.ns.router, 'iptables-restore', '--noflush'];
    // An armed tool that never commits is stopped at teardown; it changed nothing. Its teardown is
    // registered before it starts.
    const held: { tool?: ArmedTool } = {};
    this.teardowns.defer(`stop the armed rules ${tag}`, () => held.tool?.kill());
    const tool = armTool(argv, `*filter\n${tagged.map((l) => `-A ${l}`).join('\n')}\n`);
    held.tool = tool;
    return Promise.resolve({
      commit: async () => {
        this.teardowns.defer(`remove router rules ${tag}`, () => this.removeRules(tag));
        await tool.finish('COMMIT\n');
        // Known once in force: a teardown that comes first (Ctrl-C during the commit) must not
        // delete rules that are not there yet. Rules committed after it go with the namespace.
        this.rules.set(tag, { lines: tagged });
      },
    });
  }

  /** Removes a tagged rule set, keeping its packet counters. */
  removeRules(tag: string): Promise<void> {
    return this.ruleOp(async () => {
      const set = this.rules.get(tag);
      if (!set) return;
      await this.readCounters();
      await this.restore(set.lines.map((l) => `-D ${l}`));
      this.rules.delete(tag);
    });
  }

  private async restore(lines: string[]): Promise<void> {
    await run(['ip', 'netns', 'exec', this.ns.router, 'iptables-restore', '--noflush'], {
      input: `*filter\n${lines.join('\n')}\nCOMMIT\n`,
    });
  }

  /** Packets matched by each tagged rule (e.g. `partition:0`), including removed ones. */
  async readCounters(): Promise<Map<string, number>> {
    const { stdout } = await run([
      'ip',
      'netns',
      'exec',
      this.ns.router,
      'iptables-save',
      '-c',
      '-t',
      'filter',
    ]);
    for (const line of stdout.split('\n')) {
      const m = /^\[(\d+):\d+\].*--comment "?halfopen:([^\s"]+)"?/.exec(line);
      if (m) this.counters.set(m[2]!, Number(m[1]));
    }
    return new Map(this.counters);
  }

  /**
   * The server's host is gone for good: its processes die, its link and namespace go (its sockets
   * die with it, silently when the path is dropped). The namespace's teardown stays registered.
   */
  async removeServerHost(): Promise<void> {
    const { server, router } = this.ns;
    await killNamespaceProcesses(server);
    // Deleting the router's end destroys the pair at once; then the host itself goes.
    await run(['ip', '-n', router, 'link', 'del', 's0'], { allowFail: true });
    await run(['ip', 'netns', 'del', server]);
  }

  /** A fresh host with the server's name, address and router link, nothing running on it. */
  async addServerHost(): Promise<void> {
    const { server } = this.ns;
    await run(['ip', 'netns', 'add', server]);
    await run(['ip', '-n', server, 'link', 'set', 'lo', 'up']);
    await this.link('s0', this.addr.routerServerSide, server, this.addr.server);
  }
}

/** SIGKILLs every process whose network namespace is `ns`, and waits until they are gone. */
export async function killNamespaceProcesses(ns: string): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 50; round++) {
    const { stdout } = await run(['ip', 'netns', 'pids', ns], { allowFail: true });
    const pids = stdout
      .split('\n')
      .map(Number)
      .filter((p) => p > 0 && p !== process.pid);
    if (pids.length === 0) return killed;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        if (round === 0) killed += 1;
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new LabError(`processes in namespace ${ns} survive SIGKILL`);
}

export async function deleteNamespace(ns: string): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  if (!stdout.split('\n').some((l) => l.split(' ')[0] === ns)) return;
  await killNamespaceProcesses(ns);
  await run(['ip', 'netns', 'del', ns]);
}
