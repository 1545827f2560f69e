/**
 * The kube testbed's plumbing: namespaces, veth links and tagged iptables rules in the namespaces
 * it made, each registered for teardown before it exists. Nothing here touches the root namespace.
 */
import { LabError } from '../../errors.js';
import type { Teardowns } from '../../util/teardown.js';
import { armTool, run, type ArmedTool } from '../netns/exec.js';
import { NS_PREFIX } from '../netns/names.js';
import { deleteNamespace } from '../netns/topology.js';
import { inNs } from '../netns/plumbing.js';

export { inNs, sysctl, vethLink } from '../netns/plumbing.js';

/** A kube namespace: `halfopen-<run>-<n>-<role>`, the role six letters or digits (`node01`). */
export function kubeNs(runId: string, index: number, role: string): string {
  if (!/^[a-z0-9]{6}$/.test(role)) throw new LabError(`internal: bad namespace role ${role}`);
  return `${NS_PREFIX}${runId}-${index}-${role}`;
}

export async function addNamespace(teardowns: Teardowns, ns: string): Promise<void> {
  teardowns.defer(`delete namespace ${ns}`, () => deleteNamespace(ns));
  await run(['ip', 'netns', 'add', ns]);
  await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
}

/**
 * Tagged iptables rules in some namespaces, by tag: added in one transaction, removed with their
 * packet counters kept, and the counters of every tagged rule (`halfopen:<tag>:<i>`) read back.
 */
export class TaggedRules {
  private readonly sets = new Map<string, { ns: string; table: string; lines: string[] }>();
  /** Counts of rules that no longer exist (removed, or flushed with a rewritten chain). */
  private readonly carried = new Map<string, number>();

  constructor(
    private readonly teardowns: Teardowns,
    /** Every namespace whose tagged counters are read. */
    private readonly namespaces: () => readonly string[],
  ) {}

  static tag(lines: readonly string[], tag: string): string[] {
    return lines.map((l, i) => `${l} -m comment --comment halfopen:${tag}:${i}`);
  }

  async add(ns: string, table: string, tag: string, lines: string[]): Promise<void> {
    const tagged = TaggedRules.tag(lines, tag);
    this.teardowns.defer(`remove rules ${tag}`, () => this.remove(tag));
    this.sets.set(tag, { ns, table, lines: tagged });
    await restore(ns, `*${table}\n${tagged.map((l) => `-A ${l}`).join('\n')}\nCOMMIT\n`);
  }

  /**
   * Loads a rule set into iptables-restore now; `commit` puts it in force in a few milliseconds
   * (for a fault's T0). One never committed is stopped at teardown, having changed nothing.
   */
  arm(ns: string, table: string, tag: string, lines: string[]): { commit(): Promise<void> } {
    const tagged = TaggedRules.tag(lines, tag);
    const held: { tool?: ArmedTool } = {};
    this.teardowns.defer(`stop the armed rules ${tag}`, () => held.tool?.kill());
    held.tool = armTool(
      inNs(ns, ['iptables-restore', '--noflush']),
      `*${table}\n${tagged.map((l) => `-A ${l}`).join('\n')}\n`,
    );
    const tool = held.tool;
    return {
      commit: async () => {
        this.teardowns.defer(`remove rules ${tag}`, () => this.remove(tag));
        this.sets.set(tag, { ns, table, lines: tagged });
        await tool.finish('COMMIT\n');
      },
    };
  }

  async remove(tag: string): Promise<void> {
    const set = this.sets.get(tag);
    if (!set) return;
    await this.carry((t) => t.startsWith(`${tag}:`));
    this.sets.delete(tag);
    await restore(
      set.ns,
      `*${set.table}\n${set.lines.map((l) => `-D ${l}`).join('\n')}\nCOMMIT\n`,
      true,
    );
  }

  /** Keeps the counts of the rules `which` selects before they are flushed or removed. */
  async carry(which: (tag: string) => boolean): Promise<void> {
    const now = await this.current();
    for (const [tag, n] of now)
      if (which(tag)) this.carried.set(tag, (this.carried.get(tag) ?? 0) + n);
  }

  /** Every tagged rule's packets, those of rules that are gone included. */
  async read(): Promise<Map<string, number>> {
    const out = new Map(this.carried);
    for (const [tag, n] of await this.current()) out.set(tag, (out.get(tag) ?? 0) + n);
    return out;
  }

  private async current(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const ns of this.namespaces()) {
      const { stdout } = await run(inNs(ns, ['iptables-save', '-c']), { allowFail: true });
      for (const line of stdout.split('\n')) {
        const m = /^\[(\d+):\d+\].*--comment "?halfopen:([^\s"]+)"?/.exec(line);
        if (m) out.set(m[2]!, (out.get(m[2]!) ?? 0) + Number(m[1]));
      }
    }
    return out;
  }
}

export async function restore(ns: string, text: string, allowFail = false): Promise<void> {
  await run(inNs(ns, ['iptables-restore', '--noflush']), { input: text, allowFail });
}
