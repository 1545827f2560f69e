/** The one server site of a testbed without replicas (netns, proxy). */
import type { ServerSite, Testbed } from './types.js';

export function singleSite(
  bed: Pick<Testbed, 'spawn' | 'privateDir' | 'writeFiles'>,
  address: string,
): ServerSite {
  return {
    name: 'server',
    address,
    replica: 0,
    peers: [],
    dir: () => bed.privateDir(),
    writeFiles: (files) => bed.writeFiles(files),
    spawn: (argv, what, env) => bed.spawn('server', argv, what, env),
  };
}
