/**
 * Can this machine host the netns testbed? Checked before anything is created, so a run that
 * cannot work fails in one line and leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import { LabUnavailableError } from '../../errors.js';
import type { BrokerBinary } from '../../protocols/index.js';
import { run } from './exec.js';

const NO_NETNS_HINT =
  'without root, use the proxy testbed (--testbed proxy: the lab on loopback through a userland fault proxy)';

export async function netnsPreflight(testbed: 'netns' | 'kube' = 'netns'): Promise<void> {
  if (process.platform !== 'linux') {
    throw new LabUnavailableError(
      `the ${testbed} testbed needs Linux network namespaces; ${NO_NETNS_HINT}`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new LabUnavailableError(
      `the ${testbed} testbed needs root (network namespaces, veth, iptables); ${NO_NETNS_HINT}`,
    );
  }
  if (!existsSync('/proc/self/ns/net')) {
    throw new LabUnavailableError(`this kernel has no network namespace support; ${NO_NETNS_HINT}`);
  }
  // Each tool answers its version; a missing one becomes an install hint (see exec.run).
  await run(['ip', '-V']);
  await run(['iptables-restore', '--version']);
  await run(['sysctl', '--version']);
  // kube: node 0's conntrack is read (the pod a flow is on) and changed (conntrack-lost).
  if (testbed === 'kube') await run(['conntrack', '--version']);
}

const brokerVersions = new Map<string, string>();

/**
 * Is the broker binary installed? Answers its version (for results), or one line naming the
 * package to install. Asked once per process.
 */
export async function brokerPreflight(broker: BrokerBinary): Promise<string> {
  const known = brokerVersions.get(broker.binary);
  if (known !== undefined) return known;
  const { stdout, stderr } = await run(broker.versionArgv, { allowFail: true });
  const version = /v?(\d+\.\d+\.\d+)/.exec(`${stdout}\n${stderr}`)?.[1] ?? 'unknown version';
  const described = `${broker.binary} ${version}`;
  brokerVersions.set(broker.binary, described);
  return described;
}
