/**
 * What every namespace testbed (netns, kube) builds with: a tool run inside a namespace, a sysctl,
 * a veth pair made inside one namespace with its peer moved straight into another (so no link ever
 * exists in the root namespace), and the client's established connection as its kernel lists it.
 */
import type { Endpoint } from '../../events.js';
import { LabError } from '../../errors.js';
import { isLabAddress } from './addresses.js';
import { run } from './exec.js';

/** `ip netns exec <ns> ...argv`. */
export const inNs = (ns: string, argv: readonly string[]): string[] => [
  'ip',
  'netns',
  'exec',
  ns,
  ...argv,
];

export async function sysctl(ns: string, key: string, value: number): Promise<void> {
  await run(inNs(ns, ['sysctl', '-q', '-w', `${key}=${value}`]));
}

/**
 * A veth pair made inside `aNs` (named `aDev` there) with its peer moved into `bNs` (named `eth0`
 * there), each end addressed as a /30, `bNs`'s default route via `aNs`'s end. The pair goes with
 * either namespace.
 */
export async function vethLink(
  aNs: string,
  aDev: string,
  aAddr: string,
  bNs: string,
  bAddr: string,
): Promise<void> {
  for (const a of [aAddr, bAddr])
    if (!isLabAddress(a)) throw new LabError(`refusing non-lab address ${a}`);
  await run([
    'ip',
    '-n',
    aNs,
    'link',
    'add',
    aDev,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    bNs,
  ]);
  await run(['ip', '-n', aNs, 'addr', 'add', `${aAddr}/30`, 'dev', aDev]);
  await run(['ip', '-n', aNs, 'link', 'set', aDev, 'up']);
  await run(['ip', '-n', bNs, 'addr', 'add', `${bAddr}/30`, 'dev', 'eth0']);
  await run(['ip', '-n', bNs, 'link', 'set', 'eth0', 'up']);
  await run(['ip', '-n', bNs, 'route', 'add', 'default', 'via', aAddr]);
}

/**
 * The first established connection in `ns` to `host`:`port` as its kernel lists it (`ss`),
 * whatever library opened it; null when there is none.
 */
export async function establishedTo(
  /** The namespace to look in; null: this process's own (a pod's, on a real cluster). */
  ns: string | null,
  host: string,
  port: number,
): Promise<{ client: Endpoint; server: Endpoint } | null> {
  const ss = [
    'ss',
    '-H',
    '-t',
    '-n',
    'state',
    'established',
    'dst',
    host,
    'dport',
    '=',
    String(port),
  ];
  const { stdout } = await run(ns === null ? ss : inNs(ns, ss));
  // Columns without a state filter column: Recv-Q Send-Q Local:Port Peer:Port
  const cols = stdout.trim().split('\n')[0]?.trim().split(/\s+/) ?? [];
  // An IPv6 socket that reached the IPv4 address (Java, .NET) is listed as [::ffff:a.b.c.d].
  const endpoint = (s: string | undefined): Endpoint | null => {
    const m = s ? /^(?:\[::ffff:)?(.*?)\]?:(\d+)$/.exec(s) : null;
    return m ? { address: m[1]!, port: Number(m[2]) } : null;
  };
  const client = endpoint(cols[2]);
  const server = endpoint(cols[3]);
  return client && server ? { client, server } : null;
}
