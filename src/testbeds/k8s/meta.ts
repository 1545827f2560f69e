/**
 * The metadata every object of a run carries (names.ts says which labels and why), and the checks
 * on a RunRef that every builder makes first: a run id or namespace Kubernetes would refuse is the
 * user's input, reported before anything is sent.
 */
import type { IConfigMap } from 'kubernetes-models/v1';
import { BadInputError } from '../../errors.js';
import { runLabels, runName, type Component, type RunRef } from './names.js';

export type ObjectMeta = NonNullable<IConfigMap['metadata']>;
export type OwnerReference = NonNullable<ObjectMeta['ownerReferences']>[number];

/** A DNS-1123 label: what a namespace (and a run id, inside every name and label) must be. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function checkRun(run: RunRef): void {
  if (!DNS_LABEL.test(run.runId) || run.runId.length > 40) {
    throw new BadInputError(`run id ${JSON.stringify(run.runId)}: lowercase letters, digits and -`);
  }
  if (!DNS_LABEL.test(run.namespace) || run.namespace.length > 63) {
    throw new BadInputError(`namespace ${JSON.stringify(run.namespace)}: not a DNS-1123 label`);
  }
}

/** A whole number in [min, max], or the user is told which option is wrong. */
export function checkInt(what: string, value: number, min: number, max = 2 ** 31 - 1): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadInputError(`${what}: ${value} is not a whole number in [${min}, ${max}]`);
  }
}

/**
 * Owned by the anchor ConfigMap once it exists: deleting the anchor lets the garbage collector
 * remove the object. No blockOwnerDeletion: the lab never waits for the anchor's dependents
 * (cleanup deletes every object of the run by its labels), and setting it, where the
 * OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift enables it), would ask
 * both the user and the driver for `update` on configmaps/finalizers.
 */
function ownedBy(run: RunRef): OwnerReference[] {
  if (run.anchorUid === undefined) return [];
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: runName(run.runId),
      uid: run.anchorUid,
    },
  ];
}

/** A namespaced object's metadata; `owned: false` only for the anchor, which owns the rest. */
export function namespacedMeta(
  run: RunRef,
  name: string,
  component: Component,
  opts: { index?: number; owned?: boolean } = {},
): ObjectMeta {
  const owners = opts.owned === false ? [] : ownedBy(run);
  return {
    name,
    namespace: run.namespace,
    labels: runLabels(run.runId, component, opts.index),
    ...(owners.length > 0 ? { ownerReferences: owners } : {}),
  };
}

/**
 * A cluster-scoped object's metadata: no namespace, and no owner. A cluster-scoped object cannot
 * be owned by a namespaced one (the garbage collector treats such a reference as unresolvable and
 * never collects the object), so these are found and deleted by their labels only.
 */
export function clusterMeta(run: RunRef, name: string, component: Component): ObjectMeta {
  return { name, labels: runLabels(run.runId, component) };
}
