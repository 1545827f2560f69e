/** The first steps: check the machine can host the experiment, then build its testbed. */
import { LabUnavailableError } from '../../errors.js';
import { brokerPreflight, netnsPreflight } from '../../testbeds/netns/preflight.js';
import { NetnsTestbed } from '../../testbeds/netns/topology.js';
import { ProxyTestbed } from '../../testbeds/proxy/testbed.js';
import { KubeTestbed } from '../../testbeds/kube/testbed.js';
import { LabError } from '../../errors.js';
import { embeddedStandIn, targetOf, testbedOptions } from '../spec-questions.js';
import type { ExperimentContext } from './context.js';
import type { Task } from './task.js';
import { ownServerVersion } from '../own-server.js';

/**
 * Can this machine host the testbed, and which target runs: the broker binary when installed, or
 * an embedded stand-in where the testbed allows one. Creates nothing.
 */
export const preflight: Task<ExperimentContext> = {
  name: 'preflight',
  async setup({ spec, made }) {
    if (spec.testbed === 'netns' || spec.testbed === 'kube') await netnsPreflight(spec.testbed);
    const def = targetOf(spec);
    if (spec.ownServer) {
      made.targetDef = def;
      made.targetVersion = ownServerVersion(spec.ownServer);
      return;
    }
    if (!def.broker) {
      made.targetDef = def;
      made.targetVersion = def.version ?? def.describe;
      return;
    }
    try {
      made.targetVersion = await brokerPreflight(def.broker);
      made.targetDef = def;
    } catch (err) {
      const standIn = embeddedStandIn(spec);
      if (!standIn || !(err instanceof LabUnavailableError)) throw err;
      made.targetDef = standIn;
      made.targetVersion = standIn.version ?? standIn.describe;
    }
  },
};

/**
 * The testbed the experiment asks for. Each testbed registers the teardown of every namespace,
 * link, rule, proxy and directory on the run's stack before it creates it.
 */
export const testbed: Task<ExperimentContext> = {
  name: 'testbed',
  async setup({ spec, runId, index, teardowns, progress, made, cluster }) {
    progress('building testbed');
    const how = testbedOptions(spec);
    switch (how.testbed) {
      case 'netns':
        made.bed = await NetnsTestbed.create({ runId, index, ...how.options }, teardowns);
        return;
      case 'proxy':
        made.bed = await ProxyTestbed.create({ runId, index, ...how.options }, teardowns);
        return;
      case 'kube':
        made.bed = await KubeTestbed.create({ runId, index, ...how.options }, teardowns);
        return;
      case 'k8s': {
        if (!cluster)
          throw new LabError(
            'the k8s testbed runs inside the cluster (halfopen k8s job); run it with --testbed k8s from outside',
          );
        // Loaded here: the API client and the schema models are a real cluster's only.
        const { K8sTestbed } = await import('../../testbeds/k8s/testbed.js');
        made.bed = await K8sTestbed.create({ ...cluster, index, ...how.options }, teardowns);
        return;
      }
    }
  },
};
