import express, { type Request } from 'express';

/**
 * Route templates. Express only knows the route once its router has matched it, which is after
 * the audit middleware (mounted first) has had to decide admission. Two sources, then:
 *
 * - `routeOf(req)`: the matched route, `req.baseUrl + req.route.path`, read when the response is
 *   written. Under a mount with parameters (`/orgs/:org`) baseUrl holds the values, not the
 *   template; the `routeLabel(req)` option is there for that.
 * - `resolveRoute(req)`: before routing, a dry run of the app's routes through a mirror router
 *   built from `router.listRoutes()` (router ≥ 2.3). Used only on the paths where a template is
 *   needed before the handler and cost does not matter: a refusal (the busy_rejections_total
 *   label must be a template, never a raw URL) and the readiness path.
 */

interface RouteInfo {
  readonly path: string | RegExp;
  readonly methods: readonly string[] | undefined;
  readonly router: ListableRouter | undefined;
}

interface ListableRouter {
  readonly caseSensitive?: boolean | undefined;
  readonly strict?: boolean | undefined;
  listRoutes(): RouteInfo[];
}

type MirrorRequest = { method: string; url: string; [FOUND]?: string };
type Mirror = ((req: MirrorRequest, res: object, done: (err?: unknown) => void) => void) & Record<string, unknown>;

const FOUND = Symbol('ron-audit.route');
/** A response stand-in for the mirror's automatic OPTIONS answer, which must go nowhere. */
const NO_RESPONSE = Object.freeze({ setHeader() {}, getHeader() {}, end() {}, write() {}, on() {} });

const mirrors = new WeakMap<object, { readonly size: number; readonly mirror: Mirror }>();

/** The matched route template, or undefined for an unmatched request. */
export function routeOf(req: Request): string | undefined {
  const route = (req as { route?: { path?: unknown } }).route;
  if (route === undefined || route === null) return undefined;
  const path = route.path;
  return (req.baseUrl ?? '') + (typeof path === 'string' ? path : String(path));
}

function isListable(x: unknown): x is ListableRouter {
  return typeof x === 'function' && typeof (x as Partial<ListableRouter>).listRoutes === 'function';
}

function join(prefix: string, mount: string | RegExp): string {
  if (typeof mount !== 'string') return prefix + String(mount);
  const trimmed = mount.endsWith('/') ? mount.slice(0, -1) : mount;
  return prefix + trimmed;
}

function build(router: ListableRouter, prefix: string): Mirror {
  const mirror = express.Router({ caseSensitive: router.caseSensitive === true, strict: router.strict === true }) as unknown as Mirror;
  for (const entry of router.listRoutes()) {
    if (entry.router !== undefined) {
      if (isListable(entry.router)) (mirror['use'] as (p: unknown, r: unknown) => void)(entry.path, build(entry.router, join(prefix, entry.path)));
      continue;
    }
    const template = prefix + (typeof entry.path === 'string' ? entry.path : String(entry.path));
    const mark = (req: MirrorRequest): void => {
      req[FOUND] = template;
    };
    for (const method of entry.methods ?? []) {
      const register = mirror[method === '*' ? 'all' : method.toLowerCase()];
      if (typeof register === 'function') (register as (p: unknown, h: unknown) => void).call(mirror, entry.path, mark);
    }
  }
  return mirror;
}

/**
 * The template the app's routes would match for this request, before routing; undefined when
 * nothing matches or the router cannot list its routes (router < 2.3, a mounted sub-app).
 */
export function resolveRoute(req: Request): string | undefined {
  const app = req.app as unknown as { router?: unknown } | undefined;
  const router = app?.router;
  if (!isListable(router)) return undefined;
  // Rebuilt when the app's top level changes; routes added later inside a mounted router are not seen.
  const size = router.listRoutes().length;
  let cached = mirrors.get(router);
  if (cached === undefined || cached.size !== size) {
    cached = { size, mirror: build(router, '') };
    mirrors.set(router, cached);
  }
  const probe: MirrorRequest = { method: req.method, url: req.originalUrl ?? req.url };
  try {
    // Synchronous: the mirror has no param callbacks and its handlers never call next().
    cached.mirror(probe, NO_RESPONSE, () => undefined);
  } catch {
    return undefined;
  }
  return probe[FOUND];
}
