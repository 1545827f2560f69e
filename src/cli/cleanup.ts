import { Option, type Command } from 'commander';
import { cleanupNetns } from '../testbeds/netns/cleanup.js';
import type { ClusterChoice } from '../testbeds/k8s/plan.js';
import { netnsPreflight } from '../testbeds/netns/preflight.js';

export async function cleanupCommand(flags: { force?: boolean; json?: boolean }): Promise<void> {
  await netnsPreflight();
  const report = await cleanupNetns({ force: flags.force === true });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  if (report.removed.length + report.removedDirs.length === 0)
    process.stdout.write('nothing to clean up\n');
  for (const ns of report.removed)
    process.stdout.write(`removed namespace ${ns} (with its veths, rules and processes)\n`);
  for (const dir of report.removedDirs) process.stdout.write(`removed directory ${dir}\n`);
  for (const ns of report.skippedLive)
    process.stdout.write(`left ${ns}: its run is still alive (use --force to remove it anyway)\n`);
}

type CleanupFlags = ClusterChoice & {
  force?: boolean;
  json?: boolean;
  testbed?: string;
  run?: string;
};

/** `halfopen cleanup`: this machine's namespaces, or with --testbed k8s a cluster's objects. */
export function addCleanupCommand(program: Command): void {
  program
    .command('cleanup')
    .description(
      "remove what a killed run left behind: the lab's namespaces, with their veths, rules and processes",
    )
    .option('--force', 'also remove namespaces of runs that are still alive')
    .option('--json', 'print what was removed as JSON')
    .addOption(
      new Option(
        '--testbed <name>',
        "k8s: delete, in the namespace, every object of halfopen's runs (by their labels) instead",
      ).choices(['netns', 'k8s']),
    )
    .option('--run <id>', 'with --testbed k8s: only this run')
    .option('--context <name>', 'with --testbed k8s: the kubeconfig context')
    .option('--namespace <name>', 'with --testbed k8s: the namespace')
    .option('--kubeconfig <file>', 'with --testbed k8s: the kubeconfig file')
    .action(async (flags: CleanupFlags) =>
      flags.testbed === 'k8s'
        ? (await import('./k8s-run.js')).cleanupCluster(flags)
        : cleanupCommand(flags),
    );
}
