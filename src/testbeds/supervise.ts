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
 *
 * Your server (`onTerm: 'drain'`) is stopped the way a pod is: the SIGTERM that reaches the group
 * is the fault itself, so it is not followed by a SIGKILL here. The server gets all the time it
 * takes to close its connections; this process exits once nothing of the group is left (the
 * testbed's SIGKILL, at the pod's grace period or at teardown, bounds it).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { childConfig, onParentGone } from '../util/child-main.js';

export interface SuperviseConfig {
  command: string;
  /** On SIGTERM: pass it on and kill the group a second later (a client), or wait (a server). */
  onTerm?: 'group' | 'drain';
}

const cfg = childConfig<SuperviseConfig>();

/** Signals every other process of this process group (found in /proc); returns how many. */
function signalGroup(signal: NodeJS.Signals | 0): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A zombie has ended already; only its parent's wait is missing.
      if (Number(pgrp) !== process.pid || state === 'Z') continue;
      process.kill(pid, signal);
      n += 1;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** Whether any other process of the group is left. */
function groupAlive(): boolean {
  return signalGroup(0) > 0;
}

let draining = false;
const program = spawn('/bin/sh', ['-c', cfg.command], { stdio: ['ignore', 'inherit', 'inherit'] });
program.on('exit', (code, signal) => {
  const status = code ?? 128 + (signal ? constants.signals[signal] : 0);
  // The group's SIGTERM may end the shell before this process has run its own handler.
  if (cfg.onTerm === 'drain' && signal === 'SIGTERM') draining = true;
  if (!draining) {
    signalGroup('SIGKILL');
    process.exit(status);
  }
  // The shell went with the SIGTERM; what it started may still be closing its connections.
  const poll = setInterval(() => {
    if (groupAlive()) return;
    clearInterval(poll);
    process.exit(status);
  }, 20);
});
program.on('error', (err) => {
  process.stderr.write(`cannot start /bin/sh: ${err.message}\n`);
  process.exit(127);
});

onParentGone((why) => {
  if (why === 'SIGTERM' && cfg.onTerm === 'drain') {
    draining = true;
    return;
  }
  signalGroup('SIGTERM');
  setTimeout(() => {
    signalGroup('SIGKILL');
    process.exit(143);
  }, 1000).unref();
});
