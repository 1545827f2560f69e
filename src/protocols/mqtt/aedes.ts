/**
 * The embedded MQTT broker: aedes in a process of its own, for the proxy testbed on a machine
 * without mosquitto. It reports `listening` like the lab's TCP server; SIGTERM is a graceful
 * shutdown (every client gets FIN), SIGKILL a kill.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { childConfig } from '../../util/child-main.js';
import { serveUntilStopped } from '../../targets/serve.js';

const cfg = childConfig<{ host: string; port: number }>();
const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
serveUntilStopped(server, cfg, (done) => broker.close(done));
