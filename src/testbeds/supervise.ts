/**
 * Runs your client's command (`/bin/sh -c <command>`, with the runner's stdout and stderr) and
 * sees to it that nothing it started outlives the experiment. This process leads the process
 * group the command runs in (the runner starts it detached), so:
 *   - the runner's signals reach the whole group (the program included);
 *   - when the command ends, whatever it left running in the group is killed;
 *   - when the runner goes away (its pipe closes, even after a SIGKILL), the group gets SIGTERM,
 *     then SIGKILL a second later.
 * It exits with the command's exit code (128 + signal number when a signal ended it). A program
 * that leaves the group on purpose (setsid) escapes this; on the netns testbed the namespace's
 * teardown still kills it.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { childConfig, onParentGone } from '../util/child-main.js';

export interface SuperviseConfig {
  command: string;
}

const cfg = childConfig<SuperviseConfig>();

/** Signals every other process of this process group (found in /proc). */
function signalGroup(signal: NodeJS.Signals): void {
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === process.pid) process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

const program = spawn('/bin/sh', ['-c', cfg.command], { stdio: ['ignore', 'inherit', 'inherit'] });
program.on('exit', (code, signal) => {
  signalGroup('SIGKILL');
  process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
});
program.on('error', (err) => {
  process.stderr.write(`cannot start /bin/sh: ${err.message}\n`);
  process.exit(127);
});

onParentGone(() => {
  signalGroup('SIGTERM');
  setTimeout(() => {
    signalGroup('SIGKILL');
    process.exit(143);
  }, 1000).unref();
});
