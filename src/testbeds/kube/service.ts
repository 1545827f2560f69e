/**
 * A ClusterIP Service as kube-proxy's iptables mode writes it (pkg/proxy/iptables/proxier.go), for
 * the one node whose pods dial it:
 *
 *   nat    PREROUTING -> KUBE-SERVICES: the ClusterIP and port -> KUBE-SVC-<svc>
 *          KUBE-SVC-<svc>: one rule per endpoint, `statistic --mode random --probability 1/(n-i)`,
 *                          so each of n endpoints gets 1/n of the NEW connections -> KUBE-SEP-<pod>
 *          KUBE-SEP-<pod>: DNAT to the pod's address and port
 *   filter FORWARD: INVALID dropped (KUBE-FORWARD); NEW -> KUBE-SERVICES, which REJECTs the
 *          ClusterIP while the Service has no endpoint (kube-proxy's icmp-port-unreachable)
 *
 * Only a flow's first packet meets the nat table: established flows follow their conntrack entry
 * whatever the rules say later. Pure text; the testbed loads it with iptables-restore.
 */

export interface EndpointState {
  pod: string;
  ip: string;
  /** not-ready: in the slice, never steered to (a pod on a NotReady node). */
  state: 'ready' | 'terminating' | 'not-ready';
}

/** Chain names (kube-proxy hashes; the lab's names say what they are). */
export const SVC_CHAIN = 'KUBE-SVC-HALFOPEN';
export const sepChain = (pod: string): string => `KUBE-SEP-${pod.toUpperCase()}`.slice(0, 28);

/**
 * The endpoints kube-proxy steers new connections to: the ready ones; only when none is ready, the
 * terminating ones (KEP-1669).
 */
export function steered(endpoints: readonly EndpointState[]): EndpointState[] {
  const ready = endpoints.filter((e) => e.state === 'ready');
  return ready.length > 0 ? ready : endpoints.filter((e) => e.state === 'terminating');
}

/** The once-only hooks and per-endpoint chains: loaded when the testbed is built. */
export function serviceSkeleton(vip: string, port: number): { nat: string; filter: string } {
  return {
    nat: [
      '*nat',
      ':KUBE-SERVICES - [0:0]',
      `:${SVC_CHAIN} - [0:0]`,
      '-A PREROUTING -m comment --comment halfopen:kube-services:0 -j KUBE-SERVICES',
      `-A KUBE-SERVICES -d ${vip}/32 -p tcp --dport ${port} -m comment --comment halfopen:svc:0 -j ${SVC_CHAIN}`,
      'COMMIT',
      '',
    ].join('\n'),
    filter: [
      '*filter',
      ':KUBE-SERVICES - [0:0]',
      '-A FORWARD -m conntrack --ctstate INVALID -m comment --comment halfopen:kube-invalid:0 -j DROP',
      '-A FORWARD -m conntrack --ctstate NEW -m comment --comment halfopen:kube-new:0 -j KUBE-SERVICES',
      'COMMIT',
      '',
    ].join('\n'),
  };
}

/** A pod's endpoint chain: its DNAT, with a counter of the connections it was given. */
export function endpointChain(pod: string, ip: string, port: number): string {
  const chain = sepChain(pod);
  return [
    '*nat',
    `:${chain} - [0:0]`,
    `-A ${chain} -p tcp -m comment --comment halfopen:dnat-${pod}:0 -j DNAT --to-destination ${ip}:${port}`,
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * The Service's balancing chain for the endpoints now, and the filter's REJECT when it has none:
 * one iptables-restore transaction, so no connection ever sees half of it.
 */
export function serviceRules(
  vip: string,
  port: number,
  endpoints: readonly EndpointState[],
): string {
  const use = steered(endpoints);
  const nat = ['*nat', `:${SVC_CHAIN} - [0:0]`];
  use.forEach((e, i) => {
    const left = use.length - i;
    const pick =
      left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(11)} ` : '';
    nat.push(`-A ${SVC_CHAIN} ${pick}-j ${sepChain(e.pod)}`);
  });
  nat.push('COMMIT');
  const filter = ['*filter', ':KUBE-SERVICES - [0:0]'];
  if (use.length === 0)
    filter.push(
      `-A KUBE-SERVICES -d ${vip}/32 -p tcp --dport ${port} -m comment --comment halfopen:svc-no-endpoints:0 -j REJECT --reject-with icmp-port-unreachable`,
    );
  filter.push('COMMIT');
  return `${nat.join('\n')}\n${filter.join('\n')}\n`;
}
