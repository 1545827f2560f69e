/**
 * `halfopen run`'s flags and help. Each fault parameter and cluster setting brings its own flag
 * from its definition.
 */
import { Option, type Command } from 'commander';
import { FAULT_PARAMS, faultsTaking, flagOf } from '../faults/index.js';
import { KUBE_OPTIONS } from '../scenario/kube.js';
import { FAULTS, TARGETS, TESTBEDS } from '../scenario/spec.js';
import { PRESETS } from '../scenario/presets.js';
import { addClusterOptions } from './k8s.js';
import { faultHelp, strategyHelp } from './help.js';
import { runCommand, type RunFlags } from './run.js';
import { addGateOptions, EXIT_CODES_HELP, EXPECT_HELP } from './gate-options.js';

export function addRunCommand(program: Command, signal: AbortSignal): void {
  const runCmd = program
    .command('run')
    .description('run one experiment: a client and a target, a fault on the wire, measured')
    .addOption(
      new Option(
        '--testbed <name>',
        'where to run: netns (root), proxy (no root), kube (root: a cluster in namespaces), k8s (a real cluster, from your kubeconfig)',
      )
        .choices([...TESTBEDS])
        .default('netns'),
    )
    .addOption(
      new Option(
        '--target <name>',
        'the server side under test: tcp, ws, grpc, h2 (built-in servers), nats (nats-server), mqtt (mosquitto) (default: tcp)',
      ).choices([...TARGETS]),
    )
    .option(
      '--strategy <spec>',
      "how the client detects a dead peer (see below; default: the target's library defaults)",
    )
    .option(
      '--workload <spec>',
      "idle, publish:<msgs/s> (the client sends), or subscribe:<msgs/s> (the far side sends: a broker's sink, or the ws, grpc and h2 servers) (default: idle)",
    )
    .option('--qos <0|1>', 'mqtt only: QoS of publish and subscribe (default: 0)')
    .option(
      '--preset <name>',
      `a known client's settings instead of --target/--strategy/--workload: ${Object.entries(
        PRESETS,
      )
        .map(([k, p]) => `${k} (${p.describe})`)
        .join('; ')}`,
    )
    .option('--fault <name>', `what goes wrong at T0: ${FAULTS.join(', ')}`)
    .option(
      '--deadline <duration>',
      'how long after T0 detection may take before it counts as not detected',
      '30s',
    )
    .option('--warmup <duration>', 'connected time before the fault', '1s')
    .option(
      '--sysctl <name=value>',
      'net.ipv4 sysctl for the client namespace, e.g. tcp_retries2=5 (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--out <dir>',
      'where to write timeline.jsonl and result.json (default halfopen-runs/<run-id>)',
    )
    .option('--json', 'print one JSON object instead of the human summary')
    .option(
      '--client-cmd <command>',
      'your own client instead of the built-in one: a shell command run in the client namespace, told where the target is by HALFOPEN_* variables (see below)',
    )
    .option(
      '--detect-log <regex>',
      "with --client-cmd: a line of your program's output matching this counts as its detection too",
    )
    .option(
      '--server-cmd <command>',
      "your own server in the target's place: a shell command run where the target runs, told where to listen by HALFOPEN_HOST and HALFOPEN_PORT (see below)",
    )
    .addHelpText(
      'after',
      `
Strategies:
${strategyHelp}

Your own client (--client-cmd '<command>'):
  Run by /bin/sh in the client namespace with HALFOPEN_TARGET, HALFOPEN_HOST, HALFOPEN_PORT,
  HALFOPEN_URL, HALFOPEN_CLIENT_ID, HALFOPEN_SUBJECT (nats), HALFOPEN_TOPIC (mqtt),
  HALFOPEN_WORKLOAD, HALFOPEN_RATE and HALFOPEN_QOS. Messages carry a sequence number from 1:
  the payload "<seq>" on nats and mqtt; "MSG <seq>" on tcp (a line), ws (a text frame),
  h2 (a line of a request body) and grpc (a raw message of /halfopen.Lab/Stream).
  Detection is read from the kernel: the connection leaving ESTABLISHED, or a new one opened.
  Print "sent <seq>" per message your API accepted for exact stale/lost counts (otherwise loss
  is the gaps in what arrived). --strategy, if given, describes what the program does (e.g.
  user-timeout:3s) so that a window can be predicted.

Your own server (--server-cmd '<command>'):
  Run by /bin/sh where the target runs (the server namespace; each pod on kube; the host on
  proxy) with HALFOPEN_TARGET, HALFOPEN_HOST and HALFOPEN_PORT (listen there), HALFOPEN_POD and
  HALFOPEN_WORKLOAD. It is ready once its socket listens; it must speak what the built-in
  client sends (above; tcp also sends "PING <n>" for "PONG <n>" with heartbeat, and
  "HELLO <id> <attempt>"). Print "recv <seq>" per message it received: loss is counted from
  those. graceful and pod-delete send it SIGTERM and wait for it to exit (kube: until the
  grace period; --restart: 5 s). Not on k8s.

Faults [the testbeds that have them]:
${faultHelp}

${EXPECT_HELP}

${EXIT_CODES_HELP}
Needs root on Linux (network namespaces); nothing is changed outside the lab's own namespaces.

The kube testbed (--testbed kube): a small cluster's data plane. The client's pod on one node;
--replicas server pods (default 3; mqtt 1), one per node, behind a ClusterIP Service written as
kube-proxy's iptables mode writes it (or --service headless: the client dials a pod's name);
Kubernetes' delays (--endpoint-lag, --grace-period, ...) at their real values times --time-scale.
The result adds the pod the client was on at the fault and at the stop, and the cluster's events.

Examples:
  halfopen run --fault partition --strategy keepalive:idle=2s,interval=1s,count=3
  halfopen run --target nats --strategy nats:ping=1s,maxout=2 --workload publish:10 --fault partition --heal 5s
  halfopen run --target mqtt --strategy mqtt:keepalive=2s --qos 1 --workload publish:10 --fault kill --restart 3s
  halfopen run --preset seed --fault node-loss
  halfopen run --testbed kube --target nats --strategy nats:ping=5s,maxout=2 --workload publish:1 \\
    --fault pod-force-delete --time-scale 0.05
  halfopen run --target ws --strategy ws:ping=1s,timeout=1s,side=server --fault node-loss
  halfopen run --target nats --workload publish:10 --fault partition --heal 8s \\
    --client-cmd 'python3 examples/nats_publisher.py' --strategy user-timeout:3s`,
    )
    .action(async (flags: RunFlags) => runCommand(flags, signal));

  // Each fault parameter's flags, from its definition: the faults that take it say where it applies.
  for (const param of FAULT_PARAMS) {
    const owners = faultsTaking(param).join(', ');
    for (const o of param.options)
      runCmd.option(`${flagOf(o.key)}${o.switch ? '' : ` ${o.arg}`}`, `${owners} only: ${o.help}`);
  }

  // The cluster settings, one definition each (scenario/kube.ts), and a real cluster's own flags.
  for (const o of KUBE_OPTIONS)
    runCmd.option(
      `${flagOf(o.key)} ${o.arg}`,
      // A real cluster keeps its own time: the time-scale is the kube testbed's alone.
      `${o.key === 'time_scale' ? 'kube testbed only' : 'kube and k8s testbeds'}: ${o.help}`,
    );
  addClusterOptions(runCmd);
  addGateOptions(runCmd, true);
}
