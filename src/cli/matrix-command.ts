/** `halfopen matrix`, `demo` and `schema`: the commands that run or describe scenario files. */
import { Option, type Command } from 'commander';
import { addGateOptions, EXIT_CODES_HELP, EXPECT_HELP } from './gate-options.js';
import { scenarioJsonSchema } from '../scenario/file.js';
import { addClusterOptions } from './k8s.js';
import { demoCommand } from './demo.js';
import { defaultParallel, matrixCommand, type MatrixFlags } from './matrix.js';
import { EXPERIMENT_BYTES, LATE_MS, MAX_DEFAULT, PER_CORE } from '../runner/parallelism.js';

/** `portable`: help without this machine's default parallelism (its rule only), for the reference. */
export function addMatrixCommands(program: Command, signal: AbortSignal, portable = false): void {
  const here = portable ? 'default' : `default ${defaultParallel()} here`;
  const parallelHelp = `the most experiments at once (${here}: ${PER_CORE} per core, as many as the free memory holds at ${EXPERIMENT_BYTES / 2 ** 20} MB each, at most ${MAX_DEFAULT}); lowered while their timers run late`;

  const adaptiveHelp = `
Experiments mostly wait on timers, so many run at once. When one reports its timers more than
${LATE_MS} ms late (the load is making measurements imprecise), the runner halves how many it
starts at once (never below 1, also under --parallel), and raises it by one again after a run of
on-time experiments; the output ends with what it did, e.g.
"timers ran late at 16 at once (61 ms); lowered to 8".`;

  const matrixCmd = program
    .command('matrix')
    .description(
      'run every experiment a scenario file describes; print the table, write the report',
    )
    .argument('<file>', 'scenario file, YAML or JSON (see scenarios/demo.yaml, `halfopen schema`)')
    .option('--parallel <n>', parallelHelp)
    .option(
      '--out <dir>',
      'output directory: timelines, summary.json, report.html (default halfopen-runs/matrix-<run-id>)',
    )
    .option('--json', 'print the cells and the output paths as one JSON object');
  addGateOptions(matrixCmd)
    .addHelpText(
      'after',
      `
${EXPECT_HELP}

${EXIT_CODES_HELP}

Each experiment runs in its own namespaces and address block. Ctrl-C stops handing out
experiments, tears down the running ones and exits 130, leaving nothing behind.
${adaptiveHelp}

Example scenario (YAML):
  name: my matrix
  clients:
    - { target: tcp, strategies: [none, "user-timeout:3s"] }
    - { target: nats, strategies: ["nats:ping=1s,maxout=2"] }
    - { target: mqtt, strategies: ["mqtt:keepalive=2s"], qos: [0, 1] }
  workloads: [publish:10]
  faults: [kill, { fault: partition, heal: 5s }]
  repetitions: 3
  deadline: 12s
  expect: "detect<=10s"        # every cell; a client's own expect: replaces it per measurement`,
    )
    .action(async (file: string, flags: MatrixFlags) => matrixCommand(file, flags, signal));
  addClusterOptions(matrixCmd);

  const demoCmd = program
    .command('demo')
    .description(
      'run the default matrix (scenarios/demo.yaml: TCP strategies, NATS, MQTT, WebSocket, gRPC and HTTP/2 x graceful, kill, node-loss, partition, reset), print the table, write the report',
    )
    .addOption(
      new Option(
        '--testbed <name>',
        'netns (root: network namespaces) or proxy (no root: loopback through the fault proxy; node-loss, which needs a kernel path, is left out)',
      )
        .choices(['netns', 'proxy'])
        .default('netns'),
    )
    .option('--parallel <n>', parallelHelp)
    .option('--out <dir>', 'output directory (default halfopen-runs/demo-<run-id>)')
    .option('--json', 'print the cells and the output paths as one JSON object');
  addGateOptions(demoCmd)
    .addHelpText(
      'after',
      `
Examples:
  halfopen demo                    # the machine's default parallelism
  halfopen demo --parallel 1       # one at a time (several minutes)
  halfopen demo --testbed proxy    # without root

${EXIT_CODES_HELP}
${adaptiveHelp}`,
    )
    .action(async (flags: MatrixFlags & { testbed: 'netns' | 'proxy' }) =>
      demoCommand(flags, signal),
    );

  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editors; also scenario.schema.json)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
}
