/**
 * Address plan: 198.18.0.0/15 (RFC 2544, benchmarking), cut into /29 blocks, one per experiment:
 *   block+1 client, block+2 router (client side)  -- a /30
 *   block+5 router (server side), block+6 server  -- a /30
 * Each experiment's addresses live only inside its own namespaces, so two runs that happened to
 * pick the same block could not clash anyway; within one process blocks are never reused while
 * in use.
 */
const BASE = (198 << 24) | (18 << 16); // 198.18.0.0
const BLOCKS = (1 << 17) / 8; // a /15 holds 16384 /29 blocks

export interface AddressBlock {
  index: number;
  client: string;
  routerClientSide: string;
  routerServerSide: string;
  server: string;
}

const inUse = new Set<number>();

function ip4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function blockAt(index: number): AddressBlock {
  const b = (BASE + index * 8) >>> 0;
  return {
    index,
    client: ip4(b + 1),
    routerClientSide: ip4(b + 2),
    routerServerSide: ip4(b + 5),
    server: ip4(b + 6),
  };
}

export function allocateBlock(): AddressBlock {
  for (;;) {
    const index = Math.floor(Math.random() * BLOCKS);
    if (!inUse.has(index)) {
      inUse.add(index);
      return blockAt(index);
    }
  }
}

export function releaseBlock(block: AddressBlock): void {
  inUse.delete(block.index);
}

/** True when an address is inside the lab's range (a safety check before any rule or route). */
export function isLabAddress(addr: string): boolean {
  const p = addr.split('.').map(Number);
  return p.length === 4 && p[0] === 198 && (p[1] === 18 || p[1] === 19);
}
