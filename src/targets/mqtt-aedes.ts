/**
 * The embedded MQTT broker: aedes in a process of its own, for the proxy testbed on a machine
 * without mosquitto. It reports `listening` like the lab's TCP server; SIGTERM is a graceful
 * shutdown (every client gets FIN), SIGKILL a kill.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { emit } from '../events.js';
import { childConfig, onParentGone } from '../util/child-main.js';

const cfg = childConfig<{ host: string; port: number }>();
const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
server.on('error', (err) => {
  emit({ type: 'fatal', error: err.message });
  process.exit(1);
});
server.listen(cfg.port, cfg.host, () =>
  emit({ type: 'listening', address: cfg.host, port: cfg.port }),
);

let stopping = false;
onParentGone((why) => {
  if (stopping) return;
  stopping = true;
  emit({ type: 'stopping', signal: why });
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
