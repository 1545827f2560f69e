/** `halfopen tune`'s flags and help. */
import { Option, type Command } from 'commander';
import { DEFAULT_TARGET } from '../protocols/index.js';
import { TARGETS } from '../scenario/spec.js';
import { addClusterOptions } from './k8s.js';
import { tuneCommand, type TuneFlags } from './tune.js';

export function addTuneCommand(program: Command, signal: AbortSignal): void {
  const tuneCmd = program
    .command('tune')
    .description(
      'settings that notice a silent peer within a target time without false disconnects; --verify measures them',
    )
    .addOption(
      new Option('--target <name>', 'the client to tune')
        .choices([...TARGETS])
        .default(DEFAULT_TARGET),
    )
    .option(
      '--within <duration>',
      'notice a silent peer within this, at worst, e.g. 10s (required)',
    )
    .option(
      '--tolerate <duration>',
      "a healthy peer's answer may be this late: round trip, jitter, GC and event-loop pauses on both sides",
      '1s',
    )
    .option(
      '--idle-timeout <duration>',
      'the shortest idle timeout of a middlebox on the path (e.g. 350s behind an AWS NLB): probes must cross more often',
    )
    .option('--workload <spec>', 'idle, publish:<msgs/s> or subscribe:<msgs/s>', 'idle')
    .option('--qos <0|1>', 'mqtt only: QoS of publish and subscribe')
    .option(
      '--verify',
      'measure each setting: a partition it must notice in time (netns, root) and a slow path it must ride out (the fault proxy)',
    )
    .option(
      '--testbed <name>',
      "with --verify: where the silent path runs: netns (default: a partition), proxy, kube (the node of the client's pod is lost), or k8s (a real cluster: a deny-all NetworkPolicy)",
    )
    .option(
      '--emit <library>',
      "also print the settings as that client library's code: nats.js, nats.go, jnats, nats.py (nats); mqtt.js, paho-python, paho-go, paho-java (mqtt); grpc-js, grpc-go, grpc-java (grpc); ws (ws); node:net, go-net (keepalive, user-timeout). A library with its own rule (nats.go, paho-python) is tuned with it",
    )
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
For each strategy the target's client has, the least chatty setting whose predicted window on a
silent path ends by --within, whose timeout lets an answer be --tolerate late, and whose probes
cross more often than 80 % of --idle-timeout. With --verify each is run through a partition and
through a path 0.4 x --tolerate slower each way (no jitter), in parallel. --emit prints each
setting as the library's code, with its window; settings of a library whose rule differs from the
lab's built-in client's carry lib= (nats:...,lib=go), and are checked with your own program
(halfopen run --client-cmd), not --verify. --verify exits 3 when a setting it measured failed.

Examples:
  halfopen tune --target nats --within 10s
  halfopen tune --target nats --within 10s --emit nats.go
  halfopen tune --target tcp --workload publish:10 --within 6s --emit go-net
  halfopen tune --target mqtt --within 10s --emit paho-python
  halfopen tune --target grpc --workload publish:10 --within 10s --emit grpc-go
  halfopen tune --target mqtt --within 30s --tolerate 2s --idle-timeout 350s
  halfopen tune --target tcp --workload publish:10 --within 5s --verify`,
    )
    .action(async (flags: TuneFlags) => tuneCommand(flags, signal));
  addClusterOptions(tuneCmd);
}
