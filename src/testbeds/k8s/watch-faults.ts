/**
 * What `k8s watch --fault` can do to the user's own server side: one definition each (the
 * permissions it needs, and what it names), read by the CLI's help and the watch. These act on
 * pods the user names, not on a lab target, so they are the watch's, not the lab's faults.
 */
import type { Access } from './api-connect.js';

interface WatchFaultDef {
  /** What the user must name: the pod to hit, or the pods to isolate. */
  needs: 'pod' | 'selector';
  help: string;
  /** Permissions beyond the watch's own. */
  access: readonly Access[];
}

export const WATCH_FAULTS = {
  'pod-delete': {
    needs: 'pod',
    help: 'DELETE of --server-pod (its own grace period)',
    access: [{ verb: 'delete', group: '', resource: 'pods' }],
  },
  'pod-force-delete': {
    needs: 'pod',
    help: 'DELETE of --server-pod with gracePeriodSeconds=0',
    access: [{ verb: 'delete', group: '', resource: 'pods' }],
  },
  'node-drain': {
    needs: 'pod',
    help: "cordon of --server-pod's node, then its eviction",
    access: [
      { verb: 'create', group: '', resource: 'pods', subresource: 'eviction' },
      { verb: 'patch', group: '', resource: 'nodes', namespaced: false },
    ],
  },
  'network-policy': {
    needs: 'selector',
    help: 'a deny-all NetworkPolicy on the pods --server-selector selects',
    access: [
      { verb: 'create', group: 'networking.k8s.io', resource: 'networkpolicies' },
      { verb: 'delete', group: 'networking.k8s.io', resource: 'networkpolicies' },
    ],
  },
} as const satisfies Record<string, WatchFaultDef>;
export type WatchFault = keyof typeof WATCH_FAULTS;
export const WATCH_FAULT_NAMES = Object.keys(WATCH_FAULTS) as WatchFault[];
export const watchFaultHelp = (): string =>
  WATCH_FAULT_NAMES.map((f) => `${f} (${WATCH_FAULTS[f].help})`).join('; ');

/** The watch's flags as the CLI gives them. */
export interface WatchFlags {
  to: string;
  port?: string;
  container?: string;
  fault?: string;
  serverPod?: string;
  serverSelector?: string;
  after: string;
  for: string;
  image?: string;
  context?: string;
  namespace?: string;
  kubeconfig?: string;
  json?: boolean;
}
