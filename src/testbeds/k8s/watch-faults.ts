/** What `k8s watch --fault` can do to the user's server side (a table the CLI's help reads). */
/** The faults a watch can put on the user's server side, and what each needs. */
export const WATCH_FAULTS = {
  'pod-delete': { needs: 'pod', help: 'DELETE of --server-pod (its own grace period)' },
  'pod-force-delete': { needs: 'pod', help: 'DELETE of --server-pod with gracePeriodSeconds=0' },
  'node-drain': { needs: 'pod', help: "cordon of --server-pod's node, then its eviction" },
  'network-policy': {
    needs: 'selector',
    help: 'a deny-all NetworkPolicy on the pods --server-selector selects',
  },
} as const;
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
