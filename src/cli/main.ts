#!/usr/bin/env node
/**
 * The halfopen CLI. The one place where errors become messages and exit codes:
 * 0 the command ran (whatever it found), 2 bad input, 1 lab failure, 130 interrupted.
 */
import { Command, CommanderError, Option } from 'commander';
import { BadInputError, exitCodeFor, InterruptedError, TeardownError } from '../errors.js';
import { FAULT_PARAMS, faultsTaking, flagOf } from '../faults/index.js';
import { KUBE_OPTIONS } from '../scenario/kube.js';
import { DEFAULT_TARGET } from '../protocols/index.js';
import { FAULTS, TARGETS, TESTBEDS } from '../scenario/spec.js';
import { addCleanupCommand } from './cleanup.js';
import { HALFOPEN_VERSION } from './version.js';
import { addClusterOptions, addK8sCommands } from './k8s.js';
import { faultHelp, strategyHelp } from './help.js';
import { scenarioJsonSchema } from '../scenario/file.js';
import { demoCommand } from './demo.js';
import {
  proxyAddCommand,
  proxyListCommand,
  proxyRemoveCommand,
  proxyResetCommand,
  proxyServeCommand,
  proxyToxicCommand,
  type ToxicFlags,
} from './proxy.js';
import { defaultParallel, matrixCommand, type MatrixFlags } from './matrix.js';
import { PRESETS } from '../scenario/presets.js';
import { runCommand, type RunFlags } from './run.js';
import { tuneCommand, type TuneFlags } from './tune.js';

// Broker binaries and ip, iptables live in sbin, which a non-login root shell may not have on PATH.
{
  // Never an empty entry: that would put the current directory on a root process's PATH.
  const path = (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin'])
    if (!path.includes(dir)) path.push(dir);
  process.env.PATH = path.join(':');
}

// A closed stdout (`halfopen run --help | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
});

const controller = new AbortController();
let interrupted: NodeJS.Signals | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // First signal: stop and tear down in order. A second one cannot make teardown faster, so
    // it is ignored rather than leaving half the lab behind.
    if (interrupted) return;
    interrupted = sig;
    controller.abort();
  });
}

const program = new Command('halfopen')
  .description(
    'Measure how long clients take to notice connections that die without FIN or RST, what they lose, and how they recover.',
  )
  .version(HALFOPEN_VERSION, '--version', "print halfopen's version")
  .exitOverride()
  .configureOutput({
    outputError: (str, write) => write(`halfopen: ${str.replace(/^error: /, '').trim()}\n`),
  })
  .showHelpAfterError(false)
  .showSuggestionAfterError(false);

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
    `a known client's settings instead of --target/--strategy/--workload: ${Object.entries(PRESETS)
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

Faults [the testbeds that have them]:
${faultHelp}

Exit codes: 0 the experiment ran (whatever it found), 2 bad input, 1 lab failure, 130 interrupted.
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
  halfopen run --testbed kube --target nats --strategy nats:ping=5s,maxout=2 --workload publish:1 \
    --fault pod-force-delete --time-scale 0.05
  halfopen run --target ws --strategy ws:ping=1s,timeout=1s,side=server --fault node-loss
  halfopen run --target nats --workload publish:10 --fault partition --heal 8s \\
    --client-cmd 'python3 examples/nats_publisher.py' --strategy user-timeout:3s`,
  )
  .action(async (flags: RunFlags) => runCommand(flags, controller.signal));

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

const parallelHelp = `experiments at a time (default ${defaultParallel()}: two per core, since experiments mostly wait)`;

const matrixCmd = program
  .command('matrix')
  .description('run every experiment a scenario file describes; print the table, write the report')
  .argument('<file>', 'scenario file, YAML or JSON (see scenarios/demo.yaml, `halfopen schema`)')
  .option('--parallel <n>', parallelHelp)
  .option(
    '--out <dir>',
    'output directory: timelines, summary.json, report.html (default halfopen-runs/matrix-<run-id>)',
  )
  .option('--json', 'print the cells and the output paths as one JSON object')
  .addHelpText(
    'after',
    `
Each experiment runs in its own namespaces and address block. Ctrl-C stops handing out
experiments, tears down the running ones and exits 130, leaving nothing behind.

Example scenario (YAML):
  name: my matrix
  clients:
    - { target: tcp, strategies: [none, "user-timeout:3s"] }
    - { target: nats, strategies: ["nats:ping=1s,maxout=2"] }
    - { target: mqtt, strategies: ["mqtt:keepalive=2s"], qos: [0, 1] }
  workloads: [publish:10]
  faults: [kill, { fault: partition, heal: 5s }]
  repetitions: 3
  deadline: 12s`,
  )
  .action(async (file: string, flags: MatrixFlags) =>
    matrixCommand(file, flags, controller.signal),
  );
addClusterOptions(matrixCmd);

program
  .command('demo')
  .description(
    'run the default matrix (scenarios/demo.yaml: TCP strategies, NATS and MQTT, x graceful, kill, node-loss, partition, reset), print the table, write the report',
  )
  .option('--parallel <n>', parallelHelp)
  .option('--out <dir>', 'output directory (default halfopen-runs/demo-<run-id>)')
  .option('--json', 'print the cells and the output paths as one JSON object')
  .action(async (flags: MatrixFlags) => demoCommand(flags, controller.signal));

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
  .option('--within <duration>', 'notice a silent peer within this, at worst, e.g. 10s (required)')
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
  .option('--json', 'print one JSON object')
  .addHelpText(
    'after',
    `
For each strategy the target's client has, the least chatty setting whose predicted window on a
silent path ends by --within, whose timeout lets an answer be --tolerate late, and whose probes
cross more often than 80 % of --idle-timeout. With --verify each is run through a partition and
through a path 0.35 x --tolerate slower each way (+- 0.1 x), in parallel.

Examples:
  halfopen tune --target nats --within 10s
  halfopen tune --target mqtt --within 30s --tolerate 2s --idle-timeout 350s
  halfopen tune --target tcp --workload publish:10 --within 5s --verify`,
  )
  .action(async (flags: TuneFlags) => tuneCommand(flags, controller.signal));
addClusterOptions(tuneCmd);

program
  .command('schema')
  .description('print the JSON Schema of scenario files (for editors; also scenario.schema.json)')
  .action(() => {
    process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
  });

const proxy = program
  .command('proxy')
  .description(
    "the userland fault proxy (no root): a Toxiproxy-compatible API and halfopen's blackhole",
  );
proxy
  .command('serve')
  .description('serve the proxy and its control API until Ctrl-C')
  .option('--api <host:port>', 'where the control API listens', '127.0.0.1:8474')
  .option('--json', 'print the API address as JSON')
  .addHelpText(
    'after',
    `
The API has Toxiproxy's paths and JSON shapes (GET/POST /proxies, /proxies/{name}/toxics, /reset,
/populate, /version), so Toxiproxy clients work unchanged, plus GET /proxies/{name}/connections.
Toxics: latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, and two of
halfopen's own: blackhole (both sides stay open, nothing passes; attribute heal=<ms> resumes by
itself) and idle_timeout (a connection idle for timeout=<ms> either way is forgotten: what comes
next is dropped, or with reset=1 its sender gets an RST; add it on both streams). A toxic may name
the connection ids it applies to ("connections": [1, 2]).

Example:
  halfopen proxy serve &
  curl -s -XPOST localhost:8474/proxies -d '{"name":"nats","listen":"127.0.0.1:14222","upstream":"127.0.0.1:4222"}'
  curl -s -XPOST localhost:8474/proxies/nats/toxics -d '{"type":"blackhole","stream":"upstream","attributes":{"heal":10000}}'`,
  )
  .action(async (flags: { api: string; json?: boolean }) =>
    proxyServeCommand(flags, controller.signal),
  );

const apiOption = (): Option =>
  new Option('--api <host:port>', 'the running proxy API').default('127.0.0.1:8474');
proxy
  .command('list')
  .description('list the proxies and their toxics')
  .addOption(apiOption())
  .option('--json', 'print the API answer')
  .action(async (flags: { api: string; json?: boolean }) => proxyListCommand(flags));
proxy
  .command('add')
  .description('add a proxy: listen address -> upstream')
  .argument('<name>')
  .requiredOption('--listen <host:port>', 'where it listens (port 0: any free port)')
  .requiredOption('--upstream <host:port>', 'where it forwards to')
  .addOption(apiOption())
  .option('--json', 'print the API answer')
  .action(
    async (
      name: string,
      flags: { api: string; listen: string; upstream: string; json?: boolean },
    ) => proxyAddCommand(name, flags),
  );
proxy
  .command('toxic')
  .description(
    'add a toxic to a proxy, e.g.: halfopen proxy toxic nats blackhole --attr heal=10000',
  )
  .argument('<proxy>')
  .argument(
    '<type>',
    'latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, blackhole, idle_timeout',
  )
  .option('--stream <dir>', 'upstream (client to server) or downstream', 'downstream')
  .option('--toxicity <p>', 'probability per connection, 0 to 1', '1')
  .option(
    '--attr <name=value>',
    'an attribute (repeatable), e.g. latency=100',
    (v: string, acc: string[]) => [...acc, v],
    [] as string[],
  )
  .option('--name <name>', "the toxic's name (default <type>_<stream>)")
  .addOption(apiOption())
  .option('--json', 'print the API answer')
  .action(async (proxyName: string, type: string, flags: ToxicFlags) =>
    proxyToxicCommand(proxyName, type, flags),
  );
proxy
  .command('remove')
  .description('remove a toxic from a proxy, or the proxy itself')
  .argument('<proxy>')
  .argument('[toxic]')
  .addOption(apiOption())
  .option('--json', 'print the result as JSON')
  .action(
    async (proxyName: string, toxic: string | undefined, flags: { api: string; json?: boolean }) =>
      proxyRemoveCommand(proxyName, toxic, flags),
  );
proxy
  .command('reset')
  .description('enable every proxy and remove every toxic')
  .addOption(apiOption())
  .option('--json', 'print the result as JSON')
  .action(async (flags: { api: string; json?: boolean }) => proxyResetCommand(flags));

addCleanupCommand(program);
addK8sCommands(program, controller.signal);

async function main(): Promise<number> {
  try {
    if (process.argv.length <= 2) {
      throw new BadInputError(
        'a command is required: run, matrix, demo, tune, schema, proxy, k8s or cleanup (see halfopen --help)',
      );
    }
    await program.parseAsync(process.argv);
    if (interrupted) throw new InterruptedError(interrupted);
    // A command that ends with its own code (k8s serve: its process's).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return 0;
      return 2; // commander already printed its one line through outputError
    }
    // After a signal a step fails however it noticed (a wait cut short): that is the interruption.
    // Not a teardown that left something behind: that must be said, and it exits 1.
    const e =
      interrupted && !(err instanceof InterruptedError) && !(err instanceof TeardownError)
        ? new InterruptedError(interrupted)
        : err;
    process.stderr.write(`halfopen: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.HALFOPEN_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return exitCodeFor(e);
  }
}

process.exitCode = await main();
