#!/usr/bin/env node
/**
 * The halfopen CLI. The one place where errors become messages and exit codes:
 * 0 the command ran (whatever it found), 2 bad input, 1 lab failure, 130 interrupted.
 */
import { CommanderError } from 'commander';
import { BadInputError, exitCodeFor, InterruptedError, TeardownError } from '../errors.js';
import { jsonError, wantsJson } from './strict.js';
import { buildProgram } from './program.js';

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

/** With --json a failure is also one JSON object on stdout, where the caller reads. */
const json = wantsJson(process.argv);

const program = buildProgram(controller.signal, { json });

async function main(): Promise<number> {
  try {
    if (process.argv.length <= 2) {
      throw new BadInputError(
        'a command is required: run, matrix, demo, tune, compare, show, schema, proxy, k8s or cleanup (see halfopen --help)',
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
    if (json) process.stdout.write(jsonError(e, exitCodeFor(e)));
    return exitCodeFor(e);
  }
}

process.exitCode = await main();
