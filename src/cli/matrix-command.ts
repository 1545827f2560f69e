/** `halfopen matrix`, `demo` and `schema`: the commands that run or describe scenario files. */
import type { Command } from 'commander';
import { scenarioJsonSchema } from '../scenario/file.js';
import { addClusterOptions } from './k8s.js';
import { demoCommand } from './demo.js';
import { defaultParallel, matrixCommand, type MatrixFlags } from './matrix.js';

export function addMatrixCommands(program: Command, signal: AbortSignal): void {
  const parallelHelp = `experiments at a time (default ${defaultParallel()}: two per core, since experiments mostly wait)`;

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
    .action(async (file: string, flags: MatrixFlags) => matrixCommand(file, flags, signal));
  addClusterOptions(matrixCmd);

  program
    .command('demo')
    .description(
      'run the default matrix (scenarios/demo.yaml: TCP strategies, NATS and MQTT, x graceful, kill, node-loss, partition, reset), print the table, write the report',
    )
    .option('--parallel <n>', parallelHelp)
    .option('--out <dir>', 'output directory (default halfopen-runs/demo-<run-id>)')
    .option('--json', 'print the cells and the output paths as one JSON object')
    .action(async (flags: MatrixFlags) => demoCommand(flags, signal));

  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editors; also scenario.schema.json)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
}
