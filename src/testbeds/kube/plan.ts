/**
 * The kube testbed's address plan: one /24 of 198.18.0.0/15 per experiment (512 of them).
 *
 *   block+4k+1 / +4k+2      the fabric's and node k's ends of node k's link (a /30), k = 0..6
 *   block+30                the Service's ClusterIP (virtual: only kube-proxy's DNAT knows it)
 *   block+32(k+1) /27       node k's pod CIDR; pod slot j on it is a /30: gateway +4j+1, pod +4j+2
 *
 * Node 0 holds the client's pod; replica i starts on node i+1; the nodes after them are spares a
 * replacement pod is scheduled on. As on netns, every address lives only inside the experiment's
 * own namespaces.
 */
import { isLabAddress } from '../netns/addresses.js';
import { LabError } from '../../errors.js';

const BASE = (198 << 24) | (18 << 16);
const BLOCKS = (1 << 17) / 256;
/** Nodes a /24 holds: seven /27 pod CIDRs after the first (links and the ClusterIP). */
export const MAX_NODES = 7;
/** Pod slots per node (/30 each in a /27). */
export const SLOTS = 8;

const inUse = new Set<number>();

function ip4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export class KubePlan {
  private constructor(readonly index: number) {}

  static allocate(): KubePlan {
    for (;;) {
      const index = Math.floor(Math.random() * BLOCKS);
      if (!inUse.has(index)) {
        inUse.add(index);
        return new KubePlan(index);
      }
    }
  }

  release(): void {
    inUse.delete(this.index);
  }

  private at(offset: number): string {
    const a = ip4((BASE + this.index * 256 + offset) >>> 0);
    if (!isLabAddress(a)) throw new LabError(`refusing non-lab address ${a}`);
    return a;
  }

  /** The fabric's and the node's ends of node k's link. */
  nodeLink(k: number): { fabric: string; node: string } {
    this.checkNode(k);
    return { fabric: this.at(4 * k + 1), node: this.at(4 * k + 2) };
  }

  get serviceIp(): string {
    return this.at(30);
  }

  podCidr(k: number): string {
    this.checkNode(k);
    return `${this.at(32 * (k + 1))}/27`;
  }

  /** Pod slot j on node k: its gateway (the node's end) and its own address. */
  podSlot(k: number, j: number): { gateway: string; pod: string } {
    this.checkNode(k);
    if (j < 0 || j >= SLOTS) throw new LabError(`node ${k} has no free pod slot`);
    const base = 32 * (k + 1) + 4 * j;
    return { gateway: this.at(base + 1), pod: this.at(base + 2) };
  }

  private checkNode(k: number): void {
    if (k < 0 || k >= MAX_NODES) throw new LabError(`the kube testbed has no node ${k}`);
  }
}
