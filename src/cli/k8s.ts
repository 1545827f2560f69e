/**
 * The command line's side of a real cluster: the flags that say which cluster and image, the
 * `--dry-run` that prints every manifest, and the `halfopen k8s` commands (the Job's entry point,
 * the target pods' wrapper, the RBAC a user applies, cleanup).
 */
import { Option, type Command } from 'commander';
import { BadInputError } from '../errors.js';
import type { MatrixRow } from '../runner/matrix.js';
import type { ExperimentSpec } from '../scenario/spec.js';
import { parseChoice } from '../strategies/parse.js';
import { K8sApi } from '../testbeds/k8s/api.js';
import { encodeOutcome, runJobIndex } from '../testbeds/k8s/job.js';
import { toYaml, userRole } from '../testbeds/k8s/manifests.js';
import { runSelector } from '../testbeds/k8s/names.js';
import { DEFAULT_IMAGE, type K8sRunOptions } from '../testbeds/k8s/plan.js';
import { serve } from '../testbeds/k8s/serve.js';
import { dryRunYaml, needsNodeAccess, submitMatrix } from '../testbeds/k8s/submit.js';
import { newRunId } from '../testbeds/netns/names.js';

export interface K8sFlags {
  context?: string;
  namespace?: string;
  kubeconfig?: string;
  image?: string;
  imagePullPolicy?: string;
  nodeAccess?: boolean;
  dryRun?: boolean;
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

/** The k8s testbed's flags, on `run`, `matrix` and `tune`. */
export function addClusterOptions(cmd: Command): Command {
  return cmd
    .option('--context <name>', 'k8s testbed: the kubeconfig context (default: the current one)')
    .option(
      '--namespace <name>',
      "k8s testbed: the namespace to run in (default: the context's, else default)",
    )
    .option(
      '--kubeconfig <file>',
      'k8s testbed: the kubeconfig file (default: KUBECONFIG, ~/.kube/config)',
    )
    .option(
      '--image <ref>',
      `k8s testbed: the lab's image, built from the repository's Dockerfile and pushed where the cluster pulls from (default: ${DEFAULT_IMAGE})`,
    )
    .addOption(
      new Option('--image-pull-policy <policy>', "k8s testbed: the pods' imagePullPolicy").choices([
        ...PULL_POLICIES,
      ]),
    )
    .option(
      '--node-access',
      "k8s testbed: bind the opt-in ClusterRole (nodes: get, list, patch) to the run's ServiceAccount (node-drain asks for it itself)",
    )
    .option(
      '--dry-run',
      'k8s testbed: print every manifest the run would apply, as YAML, and apply nothing',
    );
}

/** The flags as the run's options; refuses them on another testbed. */
export function clusterOptions(
  flags: K8sFlags,
  parallel: number,
  onCluster: boolean,
): K8sRunOptions | null {
  const given = (
    [
      'context',
      'namespace',
      'kubeconfig',
      'image',
      'imagePullPolicy',
      'nodeAccess',
      'dryRun',
    ] as const
  ).filter((k) => flags[k] !== undefined);
  if (!onCluster) {
    if (given.length > 0)
      throw new BadInputError(
        `--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --testbed k8s only`,
      );
    return null;
  }
  if (flags.image !== undefined && !/^[a-z0-9][\w./:@-]*$/i.test(flags.image))
    throw new BadInputError(`--image '${flags.image}' is not an image reference`);
  return {
    image: flags.image ?? DEFAULT_IMAGE,
    ...(flags.imagePullPolicy
      ? {
          imagePullPolicy: parseChoice(flags.imagePullPolicy, PULL_POLICIES, '--image-pull-policy'),
        }
      : {}),
    nodeAccess: flags.nodeAccess === true,
    parallel,
    ...(flags.context ? { context: flags.context } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
  };
}

/**
 * Runs experiments on the cluster as one Indexed Job; with --dry-run prints the manifests and
 * returns null.
 */
export async function runOnCluster(
  specs: readonly ExperimentSpec[],
  opts: K8sRunOptions,
  flags: K8sFlags,
  signal: AbortSignal,
  hooks: {
    onStatus?: Parameters<typeof submitMatrix>[1]['onStatus'];
    onRow?: (row: MatrixRow) => void;
  } = {},
  runId = newRunId(),
): Promise<MatrixRow[] | null> {
  if (flags.dryRun) {
    const nodes = opts.nodeAccess || needsNodeAccess(specs);
    // The namespace the run would use: given, else the context's (read locally, no request).
    let namespace = opts.namespace ?? 'default';
    try {
      namespace = K8sApi.connect({
        ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
        ...(opts.context ? { context: opts.context } : {}),
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
      }).namespace;
    } catch {
      // No kubeconfig: a dry run needs none.
    }
    process.stdout.write(dryRunYaml(runId, namespace, specs, { ...opts, nodeAccess: nodes }));
    return null;
  }
  return submitMatrix(specs, { ...opts, runId, signal, ...hooks });
}

/** `halfopen k8s job`: one index of the run's Indexed Job (or, with --index, any experiment). */
async function jobCommand(
  flags: { experiments: string; index?: string },
  signal: AbortSignal,
): Promise<void> {
  const outcome = await runJobIndex({
    experiments: flags.experiments,
    ...(flags.index !== undefined ? { index: flags.index } : {}),
    signal,
    onProgress: (s) => process.stderr.write(`${s}\n`),
  });
  process.stdout.write(`${encodeOutcome(outcome)}\n`);
}

/** `halfopen cleanup --testbed k8s`: everything of halfopen's runs in the namespace (or one run). */
export async function cleanupCluster(
  flags: K8sFlags & { run?: string; json?: boolean },
): Promise<void> {
  if (flags.run !== undefined && !/^\d+-[0-9a-f]{4}$/.test(flags.run))
    throw new BadInputError(`--run '${flags.run}' is not a run id (like 4242-ab12)`);
  const api = K8sApi.connect({
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
  });
  const deleted = await api.deleteRun(runSelector(flags.run));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ namespace: api.namespace, deleted })}\n`);
    return;
  }
  if (deleted.length === 0)
    process.stdout.write(`nothing of halfopen's in namespace ${api.namespace} to clean up\n`);
  for (const d of deleted) process.stdout.write(`deleted ${d}\n`);
}

export function addK8sCommands(program: Command, signal: AbortSignal): void {
  const k8s = program
    .command('k8s')
    .description("a real cluster: the RBAC to apply, and the entry points of the lab's pods");
  k8s
    .command('rbac')
    .description(
      'print the Role a user needs in a namespace to run halfopen there (apply it, then bind it to the user)',
    )
    .option('--namespace <name>', 'the namespace', 'default')
    .action((flags: { namespace: string }) => {
      process.stdout.write(toYaml([userRole(flags.namespace)]));
    });
  k8s
    .command('job')
    .description(
      "the Indexed Job's entry point: run the experiment at JOB_COMPLETION_INDEX (or --index) and print its outcome line",
    )
    .requiredOption('--experiments <file>', "the run's experiments (mounted from its ConfigMap)")
    .option('--index <n>', 'the experiment (default: JOB_COMPLETION_INDEX)')
    .action(async (flags: { experiments: string; index?: string }) => jobCommand(flags, signal));
  k8s
    .command('serve')
    .description(
      "a target pod's container: start the target or the sink of an experiment, steered by the driver",
    )
    .argument('<role>', 'target or sink')
    .requiredOption('--experiments <file>', "the run's experiments (mounted from its ConfigMap)")
    .requiredOption('--index <n>', 'the experiment')
    .action(async (role: string, flags: { experiments: string; index: string }) => {
      process.exitCode = await serve({
        role,
        experiments: flags.experiments,
        index: flags.index,
        ...(process.env.HALFOPEN_POD_NAME ? { podName: process.env.HALFOPEN_POD_NAME } : {}),
      });
    });
}
