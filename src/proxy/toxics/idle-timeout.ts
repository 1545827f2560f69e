import type { Connection } from '../connection.js';
import type { Link } from '../link.js';
import { until, type Toxic } from './types.js';

/** When each connection last carried anything, either way, and whether it has been forgotten. */
const flows = new WeakMap<Connection, { last: number; forgotten: boolean }>();

function flowOf(connection: Connection): { last: number; forgotten: boolean } {
  let flow = flows.get(connection);
  if (!flow) {
    flow = { last: performance.now(), forgotten: false };
    flows.set(connection, flow);
  }
  return flow;
}

/**
 * Something crosses at `at`: true when the connection was already forgotten (idle for `ms`), as a
 * middlebox finds out only when the next packet arrives; otherwise its idle clock restarts.
 */
function forgottenAt(connection: Connection, ms: number, at: number): boolean {
  const flow = flowOf(connection);
  if (!flow.forgotten && at - flow.last >= ms) flow.forgotten = true;
  if (!flow.forgotten) flow.last = Math.max(flow.last, at);
  return flow.forgotten;
}

const forgotten = (link: Link): boolean => flows.get(link.connection)?.forgotten ?? false;

/**
 * idle_timeout (halfopen's own): a middlebox that forgets a connection once nothing has crossed
 * it, either way, for `timeout` ms (the clock starts when the toxic arrives). Added on both
 * streams, the two share one clock per connection. What arrives afterwards is dropped (`reset`
 * 0), or its sender gets an RST (`reset` 1, as AWS NLB answers); the other side hears nothing,
 * not even a FIN, until it sends too.
 */
export const idleTimeout: Toxic = {
  defaults: { timeout: 0, reset: 0 },
  holds: forgotten,
  start({ link }) {
    flowOf(link.connection);
  },
  pipe(chunk, { link, config, arrivedAt }) {
    const ms = config.attributes.timeout ?? 0;
    if (ms <= 0 || !forgottenAt(link.connection, ms, arrivedAt)) return [chunk];
    if (config.attributes.reset) link.resetSource();
    return [];
  },
  async beforeEnd({ link, config, stop }) {
    const ms = config.attributes.timeout ?? 0;
    if (ms > 0 && forgottenAt(link.connection, ms, performance.now())) await until(stop);
  },
};
