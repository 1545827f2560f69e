import { cleanupNetns } from '../testbeds/netns/cleanup.js';
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
