/**
 * The kube testbed's cluster settings: how many replicas stand behind the Service, how the client
 * finds them, and the delays of Kubernetes' control plane, each given as the real default and
 * scaled by one time-scale (docs/facts.md, Kubernetes).
 */

/** How the client reaches the replicas: a ClusterIP (kube-proxy's DNAT) or a pod's own name. */
export const SERVICE_FORMS = ['cluster-ip', 'headless'] as const;
export type ServiceForm = (typeof SERVICE_FORMS)[number];

/** A control-plane delay: its flag, help and the real default, in ms. */
export interface KubeDelay {
  key: 'endpoint_lag' | 'grace_period' | 'prestop' | 'kill_min' | 'node_grace' | 'eviction';
  help: string;
  realMs: number;
}

/** Kubernetes' defaults (docs/facts.md has the sources). */
export const KUBE_DELAYS: readonly KubeDelay[] = [
  {
    key: 'endpoint_lag',
    help: "from an endpoint's change in the API to kube-proxy's rules (its sync; about 1 s)",
    realMs: 1000,
  },
  {
    key: 'grace_period',
    help: 'terminationGracePeriodSeconds: SIGTERM to SIGKILL on a pod deletion (30 s)',
    realMs: 30_000,
  },
  { key: 'prestop', help: 'a preStop sleep before SIGTERM (none)', realMs: 0 },
  {
    key: 'kill_min',
    help: "the kubelet's least SIGTERM-to-SIGKILL time, also on a forced deletion (2 s)",
    realMs: 2000,
  },
  {
    key: 'node_grace',
    help: 'node-monitor-grace-period: a silent node turns NotReady (50 s from 1.32; 40 s before)',
    realMs: 50_000,
  },
  {
    key: 'eviction',
    help: 'tolerationSeconds of the unreachable taint: NotReady to eviction (300 s)',
    realMs: 300_000,
  },
];

export type KubeDelayKey = KubeDelay['key'];

export interface KubeSettings {
  /** Server pods behind the Service, one per node. */
  replicas: number;
  service: ServiceForm;
  /** Every control-plane delay is its real value times this (1: real time). */
  timeScale: number;
  /** NATS: the cluster tells clients every replica's address (the seed's Helm values: no). */
  advertise: boolean;
  /** Real (unscaled) delays, by key; a key not given has its Kubernetes default. */
  delays: Partial<Record<KubeDelayKey, number>>;
}

/** A delay as the lab runs it: the real value (given or default) times the time-scale. */
export function scaledDelay(k: KubeSettings, key: KubeDelayKey): number {
  const real = k.delays[key] ?? KUBE_DELAYS.find((d) => d.key === key)!.realMs;
  return Math.round(real * k.timeScale);
}

/** The default settings for a target that runs `replicas` by default. */
export function defaultKube(replicas: number): KubeSettings {
  return { replicas, service: 'cluster-ip', timeScale: 1, advertise: false, delays: {} };
}
