/**
 * Detection for your own client (`--client-cmd`), read from the kernel, whatever language the
 * program is written in: runs next to it (the client namespace, or the host on the proxy
 * testbed) and polls /proc/self/net/tcp, which lists the TCP sockets of its own network
 * namespace, for connections to the target. It reports, as the lab's clients do:
 *   connected  a connection to the target reached ESTABLISHED (the one now watched)
 *   detected   the watched connection left ESTABLISHED (the program closed it, or an RST removed
 *              it), or the program opened a new connection to the target while it still looked
 *              fine (it gave up on the old one)
 *   connecting a new connection attempt (SYN sent)
 * IPv4 sockets and IPv6 ones that reach the target as ::ffff:a.b.c.d (Java, .NET) both count.
 * The resolution is the poll interval. The first connection to the target is the one watched: a
 * program that holds several by design needs --detect-log.
 */
import { readFileSync } from 'node:fs';
import { emit } from '../events.js';
import { childConfig, onParentGone } from '../util/child-main.js';
import { procAddresses, socketsTo, type TcpSocket } from './proc-net.js';

export interface KernelWatchConfig {
  host: string;
  port: number;
  /**
   * Other addresses that are the same target: a Service's pods, which a socket reaches directly
   * where the CNI translates at connect() (Cilium's socket load balancing).
   */
  also?: { host: string; port: number }[];
  everyMs: number;
}

const cfg = childConfig<KernelWatchConfig>();
const remotes = [cfg, ...(cfg.also ?? [])].flatMap((r) => procAddresses(r.host, r.port));
/** Inodes of connections seen opening, and of those given up on (never watched again). */
const seen = new Set<string>();
const over = new Set<string>();
let watched: TcpSocket | null = null;
let attempt = 0;

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // no IPv6 in this kernel
  }
};

function poll(): void {
  const sockets = socketsTo([read('/proc/self/net/tcp'), read('/proc/self/net/tcp6')], remotes);
  const fresh = sockets.filter(
    (s) =>
      s.inode !== '0' &&
      !seen.has(s.inode) &&
      (s.state === 'SYN_SENT' || s.state === 'ESTABLISHED'),
  );
  for (const s of fresh) {
    seen.add(s.inode);
    if (s.state === 'SYN_SENT') emit({ type: 'connecting', attempt: attempt + 1 });
  }
  if (watched !== null) {
    const w = watched;
    // Closed by the program, a socket keeps its port and loses its inode.
    const now = sockets.find(
      (s) => s.localPort === w.localPort && (s.inode === w.inode || s.inode === '0'),
    );
    if (now?.state !== 'ESTABLISHED') {
      emit({ type: 'detected', reason: 'kernel', code: `ESTABLISHED->${now?.state ?? 'gone'}` });
      over.add(w.inode);
      watched = null;
    } else if (fresh.length > 0) {
      emit({ type: 'detected', reason: 'kernel', code: 'new connection' });
      over.add(w.inode);
      watched = null;
    }
  }
  if (watched === null) {
    const up = sockets.find(
      (s) => s.state === 'ESTABLISHED' && s.inode !== '0' && !over.has(s.inode),
    );
    if (up) {
      watched = up;
      attempt += 1;
      emit({ type: 'connected', attempt, remote: { address: cfg.host, port: cfg.port } });
    }
  }
}
const timer = setInterval(poll, cfg.everyMs);
poll();
onParentGone(() => {
  clearInterval(timer);
  process.exit(0);
});
