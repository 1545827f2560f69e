/**
 * K8sApi's streams: the list-then-watch that resumes where the API server ended it (and lists
 * again when its version has expired), and following a container's log line by line.
 */
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import {
  Log,
  Watch,
  type BatchV1Api,
  type CoreV1Api,
  type DiscoveryV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1EndpointSlice,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { call, codeOf, sleep, toLabError, type Target } from './api-support.js';

export type WatchKind = 'pods' | 'endpointslices' | 'jobs';
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface WatchObjects {
  pods: V1Pod;
  endpointslices: V1EndpointSlice;
  jobs: V1Job;
}

/** What the streams use of K8sApi. */
export interface StreamClients extends Target {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
  readonly discovery: DiscoveryV1Api;
}

/** K8sApi.watch's work (see there). */
export async function watch<K extends WatchKind>(
  api: StreamClients,
  kind: K,
  labelSelector: string,
  onEvent: (type: WatchEventType, obj: WatchObjects[K]) => void,
  signal: AbortSignal,
): Promise<void> {
  const path = {
    pods: `/api/v1/namespaces/${api.namespace}/pods`,
    endpointslices: `/apis/discovery.k8s.io/v1/namespaces/${api.namespace}/endpointslices`,
    jobs: `/apis/batch/v1/namespaces/${api.namespace}/jobs`,
  }[kind];
  /** What the caller has been told exists, by uid: its resourceVersion. */
  const known = new Map<string, { rv: string; obj: WatchObjects[K] }>();
  const keyOf = (o: KubernetesObject): string => o.metadata?.uid ?? o.metadata?.name ?? '';

  const relist = async (): Promise<string> => {
    const list = await call(api, 'list', kind, () => listRaw(api, kind, labelSelector));
    const seen = new Set<string>();
    for (const item of list.items) {
      const obj = JSON.parse(JSON.stringify(item)) as WatchObjects[K];
      const key = keyOf(obj);
      const rv = obj.metadata?.resourceVersion ?? '';
      seen.add(key);
      const before = known.get(key);
      known.set(key, { rv, obj });
      if (!before) onEvent('ADDED', obj);
      else if (before.rv !== rv) onEvent('MODIFIED', obj);
    }
    for (const [key, { obj }] of known)
      if (!seen.has(key)) {
        known.delete(key);
        onEvent('DELETED', obj);
      }
    return list.metadata?.resourceVersion ?? '';
  };

  if (signal.aborted) return;
  let resourceVersion = await relist();
  let failures = 0;
  // client-node drops what the event callback throws; so the caller's error is kept here, the
  // watch stopped, and the error thrown from watch().
  const stopped = new AbortController();
  const both = AbortSignal.any([signal, stopped.signal]);
  let thrown: { error: unknown } | undefined;
  while (!both.aborted) {
    const ended = await watchOnce(
      api.kc,
      path,
      labelSelector,
      resourceVersion,
      both,
      (type, obj) => {
        const rv = obj.metadata?.resourceVersion;
        if (rv) resourceVersion = rv;
        if (type === 'BOOKMARK' || thrown) return;
        const key = keyOf(obj);
        if (type === 'DELETED') known.delete(key);
        else known.set(key, { rv: rv ?? '', obj: obj as WatchObjects[K] });
        try {
          onEvent(type, obj as WatchObjects[K]);
        } catch (error) {
          thrown = { error };
          stopped.abort();
        }
      },
    );
    if (thrown) throw thrown.error;
    if (signal.aborted) return;
    if (ended === 'gone') {
      resourceVersion = await relist();
      failures = 0;
    } else if (ended === 'closed') {
      failures = 0;
    } else {
      // The request failed (no answer, or an error status): retry a few times, then give up.
      const code = codeOf(ended);
      if (code !== undefined && code >= 400 && code < 500 && code !== 429)
        throw toLabError(api, ended, 'watch', kind);
      if (++failures > 5) throw toLabError(api, ended, 'watch', kind);
      await sleep(200 * 2 ** failures, signal);
    }
  }
}

/** The list behind a watch, in the API's JSON form (see watch). */
function listRaw(
  api: StreamClients,
  kind: WatchKind,
  labelSelector: string,
): Promise<{
  metadata?: { resourceVersion?: string };
  items: KubernetesObject[];
}> {
  const namespace = api.namespace;
  if (kind === 'pods') return api.core.listNamespacedPod({ namespace, labelSelector });
  if (kind === 'jobs') return api.batch.listNamespacedJob({ namespace, labelSelector });
  return api.discovery.listNamespacedEndpointSlice({ namespace, labelSelector });
}

/**
 * One watch request: resolves 'closed' when the server ends it, 'gone' when the version has
 * expired, or the error that ended it.
 */
async function watchOnce(
  kc: KubeConfig,
  path: string,
  labelSelector: string,
  resourceVersion: string,
  signal: AbortSignal,
  onEvent: (type: WatchEventType | 'BOOKMARK', obj: KubernetesObject) => void,
): Promise<'closed' | 'gone' | Error> {
  let gone = false;
  let stop: (() => void) | undefined;
  const ended = new Promise<'closed' | 'gone' | Error>((resolve) => {
    const watch = new Watch(kc);
    const query = { labelSelector, resourceVersion, allowWatchBookmarks: true };
    const started = watch.watch(
      path,
      query,
      (type: string, obj: KubernetesObject & { code?: number }) => {
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED' || type === 'BOOKMARK')
          onEvent(type, obj);
        else if (type === 'ERROR' && obj.code === 410) {
          gone = true;
          stop?.();
        }
      },
      (err: unknown) => {
        if (gone) resolve('gone');
        else if (err === null || err === undefined || signal.aborted) resolve('closed');
        else resolve(err instanceof Error ? err : new Error(JSON.stringify(err)));
      },
    );
    void started.then((controller) => {
      stop = () => controller.abort();
      if (signal.aborted) stop();
    });
  });
  const onAbort = (): void => stop?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await ended;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** K8sApi.streamLogs's work (see there). */
export async function streamLogs(
  api: StreamClients,
  pod: string,
  container: string,
  onLine: (line: string) => void,
  signal: AbortSignal,
  opts: { sinceTime?: Date; timestamps?: boolean },
): Promise<void> {
  if (signal.aborted) return;
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const take = (text: string): void => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  let flushed = false;
  const flush = (): void => {
    if (flushed) return;
    flushed = true;
    take(decoder.end());
    if (partial !== '') onLine(partial);
    partial = '';
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      take(decoder.write(chunk));
      cb();
    },
  });
  // Log pipes the response into `sink`, which finishes when the log ends; an abort errors the
  // response instead, which does not end `sink`, so the abort ends the wait itself.
  const finished = new Promise<void>((resolve) => {
    sink.on('finish', resolve);
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  let controller: AbortController;
  try {
    controller = await new Log(api.kc).log(api.namespace, pod, container, sink, {
      follow: true,
      ...(opts.sinceTime ? { sinceTime: opts.sinceTime.toISOString() } : {}),
      ...(opts.timestamps !== undefined ? { timestamps: opts.timestamps } : {}),
    });
  } catch (err) {
    throw toLabError(api, err, 'get', `pods/${pod}/log`);
  }
  const onAbort = (): void => controller.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) controller.abort();
  try {
    await finished;
  } finally {
    signal.removeEventListener('abort', onAbort);
    flush();
  }
}
