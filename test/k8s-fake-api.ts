/**
 * A stand-in for a Kubernetes API server, for testing the lab's API driver without a cluster:
 * plain `node:http` on 127.0.0.1. It records every request (method, path, query, JSON body,
 * Content-Type) and answers from routes the test registers: JSON, a Status error, or a stream
 * (watch events, log text) the test writes to over time. It answers discovery itself, as the API
 * server does (before any route: the tests' routes match resources, not discovery), since
 * client-node's generic object API asks for it before creating or listing.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** The body parsed as JSON (undefined when empty). */
  readonly body: unknown;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
}

export type Handler = (req: Recorded, res: ServerResponse) => void | Promise<void>;

interface Route {
  readonly method: string;
  readonly path: string | RegExp;
  readonly handler: Handler;
  /** Answers this many requests, then lets later routes (or the next registration) answer. */
  times: number;
}

/** The resources the fake's discovery knows: group/version → [kind, plural, namespaced]. */
const RESOURCES: Record<string, [string, string, boolean][]> = {
  v1: [
    ['Pod', 'pods', true],
    ['ConfigMap', 'configmaps', true],
    ['Service', 'services', true],
    ['ServiceAccount', 'serviceaccounts', true],
    ['Namespace', 'namespaces', false],
    ['Node', 'nodes', false],
  ],
  'apps/v1': [['StatefulSet', 'statefulsets', true]],
  'batch/v1': [['Job', 'jobs', true]],
  'networking.k8s.io/v1': [['NetworkPolicy', 'networkpolicies', true]],
  'discovery.k8s.io/v1': [['EndpointSlice', 'endpointslices', true]],
  'rbac.authorization.k8s.io/v1': [
    ['Role', 'roles', true],
    ['RoleBinding', 'rolebindings', true],
    ['ClusterRole', 'clusterroles', false],
    ['ClusterRoleBinding', 'clusterrolebindings', false],
  ],
};

/** The discovery paths: what the assertions on "what the driver did" leave out. */
export const isDiscovery = (r: Recorded): boolean =>
  r.method === 'GET' && (r.path === '/api/v1' || /^\/apis\/[^/]+\/[^/]+$/.test(r.path));

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** An API Status error, as the API server sends it. */
export function sendStatus(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
): void {
  sendJson(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    reason,
    code,
    message,
  });
}

/** A chunked response held open: the test writes to it, and ends it, when it chooses. */
export interface Stream {
  /** Writes one watch event (a JSON line). */
  event(type: string, object: unknown): void;
  /** Writes raw text or bytes (log chunks). */
  write(chunk: string | Buffer): void;
  end(): void;
  /** Resolves when the client has gone (it aborted, or the stream ended). */
  readonly closed: Promise<void>;
}

export function openStream(res: ServerResponse, contentType = 'application/json'): Stream {
  res.writeHead(200, { 'content-type': contentType, 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const closed = once(res, 'close').then(() => undefined);
  return {
    event: (type, object) => void res.write(`${JSON.stringify({ type, object })}\n`),
    write: (chunk) => void res.write(chunk),
    end: () => res.end(),
    closed,
  };
}

export class FakeApi {
  readonly requests: Recorded[] = [];
  /** Requests no route answered (the fake says 404 to them). */
  readonly unmatched: Recorded[] = [];
  private readonly routes: Route[] = [];
  private readonly dirs: string[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeApi> {
    const server = createServer();
    const fake = new FakeApi(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void fake.handle(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers `method path` (exact, or a RegExp on the path) with `handler`, `times` times. */
  on(method: string, path: string | RegExp, handler: Handler, times = Infinity): this {
    this.routes.push({ method, path, handler, times });
    return this;
  }

  /** The requests that are not discovery. */
  calls(): Recorded[] {
    return this.requests.filter((r) => !isDiscovery(r));
  }

  /**
   * Writes a kubeconfig for this server with a token user: one context `fake` (namespace `lab`,
   * unless given) and, if asked, more contexts on the same cluster.
   */
  kubeconfig(opts: { namespace?: string | null; extraContexts?: string[] } = {}): string {
    const dir = mkdtempSync(join(tmpdir(), 'halfopen-kubeconfig-'));
    this.dirs.push(dir);
    const namespace = opts.namespace === undefined ? 'lab' : opts.namespace;
    const context = (name: string) => ({
      name,
      context: { cluster: 'fake', user: 'tester', ...(namespace ? { namespace } : {}) },
    });
    const file = join(dir, 'config');
    // JSON is YAML: client-node reads it as a kubeconfig file.
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        // client-node refuses plain http unless TLS verification is off for the cluster.
        clusters: [
          { name: 'fake', cluster: { server: this.url, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'tester', user: { token: 'test-token' } }],
        contexts: [context('fake'), ...(opts.extraContexts ?? []).map(context)],
        'current-context': 'fake',
      }),
    );
    return file;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const rec: Recorded = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      body: text === '' ? undefined : (JSON.parse(text) as unknown),
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
    };
    this.requests.push(rec);
    const gv = rec.path === '/api/v1' ? 'v1' : /^\/apis\/([^/]+\/[^/]+)$/.exec(rec.path)?.[1];
    const resources = gv !== undefined ? RESOURCES[gv] : undefined;
    if (rec.method === 'GET' && gv !== undefined && resources) {
      sendJson(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: gv,
        resources: resources.map(([kind, name, namespaced]) => ({
          name,
          singularName: kind.toLowerCase(),
          kind,
          namespaced,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'],
        })),
      });
      return;
    }
    const route = this.routes.find(
      (r) =>
        r.times > 0 &&
        r.method === rec.method &&
        (typeof r.path === 'string' ? r.path === rec.path : r.path.test(rec.path)),
    );
    if (route) {
      route.times--;
      await route.handler(rec, res);
      return;
    }
    this.unmatched.push(rec);
    sendStatus(res, 404, 'NotFound', `fake: no route for ${rec.method} ${rec.path}`);
  }
}

// ---------------------------------------------------------------------------------------------
// A cluster's objects behind the fake

/** An object as the fake keeps it: whatever was sent, with the metadata the API server adds. */
export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
  [field: string]: unknown;
}

/**
 * A label selector as the lab writes them: terms joined by commas, each `key=value` or `key` (the
 * label exists). Anything else is a mistake in the test, not a selector to guess at.
 */
export function selects(selector: string, labels: Record<string, string> = {}): boolean {
  if (selector === '') return true;
  return selector.split(',').every((term) => {
    if (!/^[\w./-]+(=[\w.-]*)?$/.test(term)) throw new Error(`fake: selector term '${term}'`);
    const [key, value] = term.split('=') as [string, string | undefined];
    return value === undefined ? key in labels : labels[key] === value;
  });
}

/**
 * `/api/v1/namespaces/lab/pods/x/log` → the collection, the name and the subresource. The
 * optional namespaces part is tried first, so a namespaced collection is never read as
 * `namespaces/<ns>` with a subresource.
 */
function pathOf(path: string): { collection: string; name?: string; sub?: string } | null {
  const m =
    /^(\/(?:api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/[^/]+)?\/[a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(
      path,
    );
  if (!m) return null;
  return { collection: m[1]!, ...(m[2] ? { name: m[2] } : {}), ...(m[3] ? { sub: m[3] } : {}) };
}

export interface ClusterOptions {
  /** The namespace that exists (default `lab`); null: none does (preflight's GET answers 404). */
  namespace?: string | null;
  /** A SelfSubjectAccessReview's answer, from its resourceAttributes (default: allowed). */
  allowed?: (attrs: { verb: string; resource: string; subresource?: string }) => boolean;
}

/**
 * A cluster as far as a run from the user's machine sees it: the preflight's namespace and access
 * reviews, then create, get, list (by label selector) and delete of any resource at its API path,
 * and the driver pods' logs. Nothing happens by itself: what the Job controller and the kubelet
 * would do (pods appear, run, end), the test does, in `onCreate` or by changing `objects`, so each
 * test decides exactly what the CLI will find at its next poll.
 */
export class FakeCluster {
  /** Every object by its path (`/api/v1/namespaces/lab/configmaps/halfopen-1-ab`). */
  readonly objects = new Map<string, StoredObject>();
  /** What was created through the API, as stored (uids included), in order: kept once deleted. */
  readonly created: StoredObject[] = [];
  /** The driver container's log of each pod, by pod name. */
  readonly logs = new Map<string, string>();
  /** Called after each create, with the collection's path and the object as stored. */
  onCreate: (collection: string, obj: StoredObject) => void = () => undefined;

  constructor(
    readonly fake: FakeApi,
    opts: ClusterOptions = {},
  ) {
    const namespace = opts.namespace === undefined ? 'lab' : opts.namespace;
    // The preflight first: these two are not objects of the store.
    fake.on('GET', /^\/api\/v1\/namespaces\/[^/]+$/, (r, res) => {
      const name = r.path.split('/').pop();
      if (name === namespace)
        sendJson(res, 200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      else sendStatus(res, 404, 'NotFound', `namespaces "${name}" not found`);
    });
    fake.on('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', (r, res) => {
      const body = r.body as {
        spec: { resourceAttributes: { verb: string; resource: string; subresource?: string } };
      };
      const allowed = (opts.allowed ?? (() => true))(body.spec.resourceAttributes);
      sendJson(res, 201, { ...body, status: { allowed } });
    });
    fake.on('POST', /^\/api/, (r, res) => this.create(r, res));
    fake.on('GET', /^\/api/, (r, res) => this.read(r, res));
    fake.on('DELETE', /^\/api/, (r, res) => this.remove(r, res));
  }

  /** Puts an object at `collection` as if it had been created (no onCreate). */
  put(collection: string, obj: StoredObject): StoredObject {
    const namespace = /\/namespaces\/([^/]+)\//.exec(collection)?.[1];
    const stored: StoredObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        ...(namespace ? { namespace } : {}),
        uid: obj.metadata.uid ?? `uid-${collection.split('/').pop()}-${obj.metadata.name}`,
      },
    };
    this.objects.set(`${collection}/${obj.metadata.name}`, stored);
    return stored;
  }

  /** The object at `path`, which must exist. */
  get(path: string): StoredObject {
    const o = this.objects.get(path);
    if (!o) throw new Error(`fake: no object at ${path}`);
    return o;
  }

  /** The paths of the objects that carry the labels `selector` selects. */
  pathsOf(selector: string): string[] {
    return [...this.objects]
      .filter(([, o]) => selects(selector, o.metadata.labels))
      .map(([p]) => p);
  }

  private create(r: Recorded, res: ServerResponse): void {
    const at = pathOf(r.path);
    const obj = r.body as StoredObject | undefined;
    if (!at || at.name !== undefined || !obj?.metadata?.name) {
      sendStatus(res, 400, 'BadRequest', `fake: cannot create at ${r.path}`);
      return;
    }
    if (this.objects.has(`${at.collection}/${obj.metadata.name}`)) {
      sendStatus(res, 409, 'AlreadyExists', `"${obj.metadata.name}" already exists`);
      return;
    }
    const stored = this.put(at.collection, obj);
    this.created.push(structuredClone(stored));
    sendJson(res, 201, stored);
    this.onCreate(at.collection, stored);
  }

  private read(r: Recorded, res: ServerResponse): void {
    const at = pathOf(r.path);
    if (!at) {
      sendStatus(res, 404, 'NotFound', `fake: no resource at ${r.path}`);
      return;
    }
    if (at.name === undefined) {
      const selector = r.query.get('labelSelector') ?? '';
      const items = [...this.objects]
        .filter(([p, o]) => p === `${at.collection}/${o.metadata.name}`)
        .filter(([, o]) => selects(selector, o.metadata.labels))
        .map(([, o]) => o);
      sendJson(res, 200, {
        kind: 'List',
        apiVersion: 'v1',
        metadata: { resourceVersion: '1' },
        items,
      });
      return;
    }
    const obj = this.objects.get(`${at.collection}/${at.name}`);
    if (at.sub === 'log') {
      const log = obj ? this.logs.get(at.name) : undefined;
      if (log === undefined) {
        sendStatus(res, 404, 'NotFound', `fake: no log for pod ${at.name}`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(log);
      return;
    }
    if (obj) sendJson(res, 200, obj);
    else sendStatus(res, 404, 'NotFound', `"${at.name}" not found`);
  }

  private remove(r: Recorded, res: ServerResponse): void {
    const at = pathOf(r.path);
    const key = at?.name !== undefined ? `${at.collection}/${at.name}` : '';
    const obj = this.objects.get(key);
    if (!obj || !this.objects.delete(key)) {
      sendStatus(res, 404, 'NotFound', `fake: nothing at ${r.path}`);
      return;
    }
    // As the Job controller and the garbage collector do: a deleted Job's pods go with it (the
    // pods the fake's tests make for a Job carry its run's labels and the driver component).
    if (obj.kind === 'Job') {
      const run = obj.metadata?.labels?.['halfopen.dev/run'];
      for (const [k, o] of this.objects)
        if (
          o.kind === 'Pod' &&
          o.metadata?.labels?.['halfopen.dev/run'] === run &&
          o.metadata?.labels?.['halfopen.dev/component'] === 'driver'
        )
          this.objects.delete(k);
    }
    sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', code: 200 });
  }
}

/** A fake API server with a cluster behind it, closed when `fn` ends. */
export async function withCluster<T>(
  fn: (cluster: FakeCluster, fake: FakeApi) => Promise<T>,
  opts: ConstructorParameters<typeof FakeCluster>[1] = {},
): Promise<T> {
  const fake = await FakeApi.start();
  try {
    return await fn(new FakeCluster(fake, opts), fake);
  } finally {
    await fake.close();
  }
}
