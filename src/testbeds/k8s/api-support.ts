/**
 * What every request of K8sApi shares: the one mapping from client-node's failures to the lab's
 * errors (`toLabError`), a request's timeout and patch type, and a sleep that an abort ends.
 * Imported by api.ts and its helpers; imports none of them.
 */
import {
  ApiException,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { ClusterAccessError, LabError } from '../../errors.js';

/** Where the requests go, as the lab's error messages name it (K8sApi's own fields). */
export interface Target {
  readonly server: string;
  readonly context: string;
  readonly namespace: string;
}

/** Socket-level failures: the server is not there (or not this one), not an API answer. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** The patch types' header: client-node 1.x sends JSON Patch's unless told otherwise. */
export const strategicMerge = (): ConfigurationOptions =>
  setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** Bounds a request by `signal` (client-node's requests have no timeout of their own). */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** The HTTP status and the API's Status fields of a failed request, when it got an answer. */
interface Failure {
  code?: number;
  reason?: string;
  message?: string;
}

export function failureOf(err: unknown): Failure {
  if (err instanceof ApiException) {
    // client-node 1.x keeps the raw response text as the body; the API's Status is JSON in it.
    let body: unknown = (err as ApiException<unknown>).body;
    const text = typeof body === 'string' ? body : undefined;
    if (text !== undefined) {
      try {
        body = JSON.parse(text);
      } catch {
        body = { message: text.trim() || undefined };
      }
    }
    const status = (body ?? {}) as { reason?: string; message?: string };
    return { code: err.code, reason: status.reason, message: status.message };
  }
  // Watch reports a non-200 answer as an Error with `statusCode` and no body.
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? { code } : {};
}

export const codeOf = (err: unknown): number | undefined => failureOf(err).code;

/** Why a request got no answer (node-fetch's `reason: …`), or undefined when it got one. */
export function unreachableWhy(err: unknown): string | undefined {
  if (!(err instanceof Error) || err instanceof ApiException) return undefined;
  const e = err as Error & { code?: string; type?: string };
  if (e.name === 'AbortError' || e.type === 'aborted') return 'no answer (timed out)';
  if (e.type === 'system' || (e.code !== undefined && UNREACHABLE.has(e.code)))
    return /reason: (.*)$/.exec(e.message)?.[1] ?? e.message;
  return undefined;
}

/**
 * The one mapping from client-node's failures to the lab's errors: no answer, bad credentials
 * and missing permissions are the user's to fix (ClusterAccessError, exit 2); anything else the
 * API refused is a LabError with the API's own message.
 */
export function toLabError(target: Target, err: unknown, verb: string, what: string): Error {
  const { server, context, namespace } = target;
  const why = unreachableWhy(err);
  if (why !== undefined)
    return new ClusterAccessError(
      `cannot reach the API server at ${server}: ${why} (check --context)`,
    );
  const { code, reason, message } = failureOf(err);
  const api = message ? `: ${message}` : '';
  if (code === undefined)
    return new LabError(
      `cannot ${verb} ${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  if (code === 401)
    return new ClusterAccessError(
      `the API server at ${server} rejected the credentials of context '${context}'${api || ' (401 Unauthorized)'} (log in again, or pick another --context)`,
    );
  // RBAC says "cannot <verb> resource"; Pod Security, a ResourceQuota or an admission webhook
  // also answer 403, and only RBAC's is fixed by the Role.
  if (code === 403)
    return new ClusterAccessError(
      /cannot \S+ resource/.test(message ?? '')
        ? `not allowed to ${verb} ${what} in namespace ${namespace}${api} (apply: halfopen k8s rbac | kubectl apply -f -)`
        : `the cluster refused to ${verb} ${what} in namespace ${namespace}${api}`,
    );
  if (code === 409 && reason === 'AlreadyExists')
    return new LabError(`${what} already exists in namespace ${namespace}${api}`);
  if (code === 404) return new LabError(`cannot ${verb} ${what}: not found${api}`);
  return new LabError(`cannot ${verb} ${what}: HTTP ${code}${reason ? ` ${reason}` : ''}${api}`);
}

/** Runs one request, turning its failure into the lab's error. */
export async function call<T>(
  target: Target,
  verb: string,
  what: string,
  request: () => Promise<T>,
): Promise<T> {
  try {
    return await request();
  } catch (err) {
    throw toLabError(target, err, verb, what);
  }
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
