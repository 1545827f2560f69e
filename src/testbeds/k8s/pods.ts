/**
 * What the lab's pods share, whichever object holds them: their requests, their securityContexts
 * (every one passes the `restricted` Pod Security Standard; validate.ts's checkRestricted says
 * what that takes) and where the targets go. Pure data, for manifests.ts.
 */
import type {
  IAffinity,
  IPodSecurityContext,
  IResourceRequirements,
  ISecurityContext,
} from 'kubernetes-models/v1';
import { COMPONENT_LABEL, RUN_LABEL } from './names.js';

/**
 * Requests only, no CPU limit: a container throttled by its CFS quota stalls for the rest of the
 * period, and a client or broker that stalls answers its pings late: the lab would time the quota,
 * not the protocol. The requests keep the pods out of BestEffort, the first evicted under node
 * pressure (an eviction would be a fault nobody asked for). No memory limit either: an OOM kill
 * mid-experiment is another such fault; a namespace's LimitRange may still add one.
 */
export const resources = (): IResourceRequirements => ({
  requests: { cpu: '100m', memory: '128Mi' },
});

/**
 * The image's user (`USER 1000:1000` in the Dockerfile), by number: the kubelet can check
 * runAsNonRoot against a number, not against a name.
 */
export const IMAGE_UID = 1000;

/**
 * Every pod the lab makes passes the `restricted` Pod Security Standard (a namespace labelled
 * pod-security.kubernetes.io/enforce=restricted admits it; validate.ts's checkRestricted says what
 * that takes). Nothing in them needs privilege: /proc/net/tcp and `ss` are readable by anyone,
 * every port is above 1024, kubectl and the API are plain clients.
 */
export const podSecurity = (): IPodSecurityContext => ({
  runAsNonRoot: true,
  runAsUser: IMAGE_UID,
  runAsGroup: IMAGE_UID,
  seccompProfile: { type: 'RuntimeDefault' },
});

/**
 * Each container's own share of `restricted`, given whole on every container even where the pod's
 * context already says it (runAsNonRoot, seccomp): a container read on its own still passes.
 */
export const containerSecurity = (): ISecurityContext => ({
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
});

/**
 * The target's pods away from the run's drivers when the cluster has room: a node fault on a
 * target pod (node-drain, node-loss) would otherwise take the driver timing it along. Preferred,
 * not required: a one-node cluster (kind) still schedules both.
 */
export const awayFromDrivers = (runId: string): IAffinity => ({
  podAntiAffinity: {
    preferredDuringSchedulingIgnoredDuringExecution: [
      {
        weight: 100,
        podAffinityTerm: {
          labelSelector: { matchLabels: { [RUN_LABEL]: runId, [COMPONENT_LABEL]: 'driver' } },
          topologyKey: 'kubernetes.io/hostname',
        },
      },
    ],
  },
});
