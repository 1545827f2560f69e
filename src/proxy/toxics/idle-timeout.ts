import { until, type Toxic, type ToxicStub } from './types.js';

interface Flow {
  /** When anything last crossed, either way (performance.now()). */
  last: number;
  forgotten: boolean;
  /** The idle timeout, ms. */
  ms: number;
}

/** The connection's idle clock, shared by the toxic on both of its links (absent: not started). */
const flowOf = (stub: ToxicStub): { flow: Flow | null } =>
  stub.state<{ flow: Flow | null }>('idle_timeout', () => ({ flow: null }));

/**
 * Is the connection forgotten at `at`? A middlebox that forgot a flow stays so; otherwise
 * `touch` (something crosses at `at`) restarts the clock.
 */
function forgottenAt(stub: ToxicStub, at: number, touch: boolean): boolean {
  const { flow } = flowOf(stub);
  if (!flow || flow.ms <= 0) return false;
  if (!flow.forgotten && at - flow.last >= flow.ms) flow.forgotten = true;
  if (!flow.forgotten && touch) flow.last = Math.max(flow.last, at);
  return flow.forgotten;
}

/**
 * idle_timeout (halfopen's own): a middlebox that forgets a connection once nothing has crossed
 * it, either way, for `timeout` ms; the clock starts when the toxic arrives. Added on both
 * streams, the two share one clock per connection (give both toxicity 1). What arrives afterwards
 * is dropped (`reset` 0), or its sender gets an RST (`reset` 1, as AWS NLB answers); the other
 * side hears nothing, not even a FIN or an RST, until it sends too.
 */
export const idleTimeout: Toxic = {
  defaults: { timeout: 0, reset: 0 },
  // A reset from either side must not cross a forgotten connection, even before anything else
  // has tried to.
  holds: (stub) => forgottenAt(stub, performance.now(), false),
  start({ stub, config }) {
    flowOf(stub).flow = {
      last: performance.now(),
      forgotten: false,
      ms: config.attributes.timeout ?? 0,
    };
  },
  pipe(chunk, { stub, config, arrivedAt }) {
    if (!forgottenAt(stub, arrivedAt, true)) return [chunk];
    if (config.attributes.reset) stub.resetSource();
    return [];
  },
  async beforeEnd({ stub, config, stop }) {
    if (!forgottenAt(stub, performance.now(), true)) return;
    // The FIN is not passed on, and its sender hears nothing back (a middlebox answering with
    // RST resets it): the proxy holds both sockets until the toxic goes or the proxy closes, as
    // the two ends of a real forgotten flow hold theirs.
    if (config.attributes.reset) stub.resetSource();
    await until(stop);
  },
};
