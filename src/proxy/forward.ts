/**
 * One proxy as a process of its own, without the control API: what the netns testbed runs in the
 * router namespace for `proxy-dead-upstream` (a proxy or sidecar in the path). Prints one line
 * `{"type":"ready","listen":...}` once it listens; exits when the runner goes away.
 */
import { childConfig, onParentGone } from '../util/child-main.js';
import { ProxyServer } from './proxy.js';

const cfg = childConfig<{ listen: string; upstream: string }>();
const proxies = new ProxyServer();
const proxy = await proxies.create({ name: 'path', listen: cfg.listen, upstream: cfg.upstream });
process.stdout.write(`${JSON.stringify({ type: 'ready', listen: proxy.listen })}\n`);
onParentGone(() => {
  void proxies.closeAll().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
