/**
 * The command line's side of a real cluster: the flags that say which cluster and image, the
 * `--dry-run` that prints every manifest, and the `halfopen k8s` commands (the Job's entry point,
 * the target pods' wrapper, the RBAC a user applies, cleanup). What talks to a cluster is loaded
 * only when used (k8s-run.ts): the API client and the schema models take a second to load, which
 * every other command would pay.
 */
import { Option, type Command } from 'commander';
import { BadInputError } from '../errors.js';
import { parseChoice } from '../strategies/parse.js';
import { DEFAULT_IMAGE, type K8sRunOptions } from '../testbeds/k8s/plan.js';
import { watchFaultHelp, type WatchFlags } from '../testbeds/k8s/watch-faults.js';

export interface K8sFlags {
  timings?: string;
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
      '--timings <file>',
      "k8s testbed: the cluster's timings from `halfopen k8s probe --json`, for the predicted windows (a delay flag given wins)",
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
      'timings',
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

export function addK8sCommands(program: Command, signal: AbortSignal): void {
  const k8s = program
    .command('k8s')
    .description(
      "a real cluster: probe its timings, watch your own application in its pod, the RBAC to apply, and the lab's pods' entry points",
    );
  k8s
    .command('rbac')
    .description(
      'print the Role a user needs in a namespace to run halfopen there (apply it, then bind it to the user)',
    )
    .option('--namespace <name>', 'the namespace', 'default')
    .option(
      '--node-access',
      'also print the ClusterRole (halfopen-user-nodes) a user needs for runs with node access (node-drain, run --node-access): bind it with a ClusterRoleBinding',
    )
    .action(async (flags: { namespace: string; nodeAccess?: boolean }) => {
      const { toYaml, userNodeRole, userRole } = await import('../testbeds/k8s/manifests.js');
      process.stdout.write(
        toYaml([userRole(flags.namespace), ...(flags.nodeAccess ? [userNodeRole()] : [])]),
      );
    });
  k8s
    .command('probe')
    .description(
      "measure the cluster's own timings (endpoint propagation, eviction, kube-proxy's mode and conntrack timeouts, what a NetworkPolicy does to an open connection) and print the flags that feed them into predictions",
    )
    .option('--context <name>', 'the kubeconfig context')
    .option('--namespace <name>', 'the namespace to probe in')
    .option('--kubeconfig <file>', 'the kubeconfig file')
    .option('--image <ref>', `the lab's image (default: ${DEFAULT_IMAGE})`)
    .addOption(
      new Option('--image-pull-policy <policy>', "the pods' imagePullPolicy").choices([
        ...PULL_POLICIES,
      ]),
    )
    .option('--json', 'print the report as one JSON object')
    .action(async (flags: K8sFlags & { json?: boolean }) =>
      (await import('./k8s-run.js')).probeCommand(
        { ...clusterOptions(flags, 1, true)!, ...(flags.json ? { json: true } : {}) },
        signal,
      ),
    );
  k8s
    .command('watch')
    .description(
      'measure your own running application in place: when its connection to a target leaves ESTABLISHED and when it connects again, optionally while a fault hits the server side',
    )
    .argument('<pod>', "your application's pod (in --namespace)")
    .requiredOption(
      '--to <service|ip:port>',
      "what it is connected to: a Service's name (its ClusterIP and its pods' addresses are watched) or an address",
    )
    .option('--port <n>', "the Service's port, when it has several")
    .option('--container <name>', 'the container whose processes the watcher joins (default: none)')
    .option('--fault <name>', `what to do to the server side once connected: ${watchFaultHelp()}`)
    .option('--server-pod <name>', 'with a pod fault: the pod to hit')
    .option('--server-selector <key=value,...>', 'with network-policy: the pods it isolates')
    .option('--after <duration>', 'how long after the connection is seen to apply the fault', '5s')
    .option(
      '--for <duration>',
      'how long the watcher runs (it cannot be removed from the pod: it ends)',
      '120s',
    )
    .option('--image <ref>', `the lab's image (default: ${DEFAULT_IMAGE})`)
    .option('--context <name>', 'the kubeconfig context')
    .option('--namespace <name>', 'the namespace of the pod')
    .option('--kubeconfig <file>', 'the kubeconfig file')
    .option('--json', 'print the report as one JSON object')
    .addHelpText(
      'after',
      `
An ephemeral container joins the pod (it shares the pod's network namespace; Kubernetes 1.25+)
and reads the pod's sockets from /proc/net/tcp every 50 ms. It needs no privilege and changes
nothing in your application; it cannot be removed from the pod afterwards, so it ends after --for.
Times are from the fault's API call, as this machine's clock sees the log lines arrive.

Example:
  halfopen k8s watch my-app-7d9f --to nats --fault pod-delete --server-pod nats-0`,
    )
    .action(async (pod: string, flags: WatchFlags) =>
      (await import('./k8s-run.js')).watchCommand(pod, flags, signal),
    );
  k8s
    .command('watch-here', { hidden: true })
    .description(
      "the watch's ephemeral container: the kernel watcher in the pod's network namespace",
    )
    .requiredOption('--to <ip:port,...>', 'the addresses of the target')
    .requiredOption('--for <duration>', 'how long to watch')
    .action(async (flags: { to: string; for: string }) => {
      const { watchHere } = await import('../testbeds/k8s/watch-here.js');
      process.exitCode = await watchHere(flags);
    });
  k8s
    .command('job')
    .description(
      "the Indexed Job's entry point: run the experiment at JOB_COMPLETION_INDEX (or --index) and print its outcome line",
    )
    .requiredOption('--experiments <file>', "the run's experiments (mounted from its ConfigMap)")
    .option('--index <n>', 'the experiment (default: JOB_COMPLETION_INDEX)')
    .action(async (flags: { experiments: string; index?: string }) =>
      (await import('./k8s-run.js')).jobCommand(flags, signal),
    );
  k8s
    .command('serve')
    .description(
      "a target pod's container: start the target or the sink of an experiment, steered by the driver",
    )
    .argument('<role>', 'target or sink')
    .requiredOption('--experiments <file>', "the run's experiments (mounted from its ConfigMap)")
    .requiredOption('--index <n>', 'the experiment')
    .action(async (role: string, flags: { experiments: string; index: string }) => {
      const { serve } = await import('../testbeds/k8s/serve.js');
      process.exitCode = await serve({
        role,
        experiments: flags.experiments,
        index: flags.index,
        ...(process.env.HALFOPEN_POD_NAME ? { podName: process.env.HALFOPEN_POD_NAME } : {}),
      });
    });
}
