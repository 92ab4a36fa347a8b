import type { AbstractHttpAdapter } from '@nestjs/core';

/**
 * The point where a request's route is known and its guards have not run yet.
 *
 * Nest registers every controller route through the HTTP adapter's `get`/`post`/… methods
 * (RouterExplorer → adapter[method](path, handler)), with the handler carrying the controller
 * method's metadata. Middleware runs before routing and cannot know the route (Express routes
 * after it; on Fastify it sees only Node's request), and guards run inside the handler. So the
 * module wraps each handler as it is registered: the wrapper knows the route template and the
 * handler's @Audit/@SkipAudit metadata, and runs first when the route matches, before guards,
 * interceptors, pipes and the handler. The wrapper is only installed on this adapter object.
 */

export const ROUTE_METHODS = ['get', 'post', 'put', 'delete', 'patch', 'options', 'head', 'all', 'search', 'query', 'propfind', 'proppatch', 'mkcol', 'copy', 'move', 'lock', 'unlock'] as const;

export interface RouteInfo {
  /** Registration method, upper case ('GET', 'ALL', …). */
  readonly method: string;
  /** Route template as registered (`/orders/:id`, with any global prefix). */
  readonly template: string;
  /** The handler as registered, with the controller method's metadata copied onto it by Nest. */
  readonly handler: Function;
}

/** Decides, before the route's guards, whether the handler runs; it answers the request itself when not. */
export type RouteGate = (route: RouteInfo, req: object, res: object) => boolean;

const HOOKED = Symbol.for('ron-audit.nest.route-hook');

type Handler = (this: unknown, ...args: unknown[]) => unknown;

function wrap(route: RouteInfo, gate: RouteGate): Handler {
  const handler = route.handler as Handler;
  const wrapped: Handler = function (this: unknown, ...args: unknown[]): unknown {
    const [req, res] = args;
    if (typeof req === 'object' && req !== null && typeof res === 'object' && res !== null && !gate(route, req, res)) return undefined;
    return handler.apply(this, args);
  };
  // The platform adapters read the handler's metadata (Fastify route config/schema/constraints)
  // and properties (`version` of a versioned route): the wrapper must carry the same.
  for (const key of Reflect.getMetadataKeys(handler)) Reflect.defineMetadata(key, Reflect.getMetadata(key, handler), wrapped);
  for (const key of Object.keys(handler)) (wrapped as unknown as Record<string, unknown>)[key] = (handler as unknown as Record<string, unknown>)[key];
  Object.defineProperty(wrapped, 'name', { configurable: true, value: handler.name });
  return wrapped;
}

/**
 * Install the gate on an adapter; `onRegister` sees every route registered from now on. Returns
 * false when the adapter already has a gate (a second AuditModule in the same application).
 */
export function installRouteHook(adapter: AbstractHttpAdapter, gate: RouteGate, onRegister: (route: RouteInfo) => void): boolean {
  const target = adapter as unknown as Record<string | symbol, unknown>;
  if (target[HOOKED] === true) return false;
  Object.defineProperty(target, HOOKED, { value: true });
  for (const name of ROUTE_METHODS) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    const method = name.toUpperCase();
    target[name] = function (this: unknown, ...args: unknown[]): unknown {
      const path = args[0];
      const handler = args[args.length - 1];
      // Two arguments exactly: (path, handler). Express's one-argument app.get(name) reads a setting.
      if (args.length === 2 && typeof path === 'string' && typeof handler === 'function') {
        const route: RouteInfo = { method, template: path.startsWith('/') ? path : `/${path}`, handler };
        onRegister(route);
        args[1] = wrap(route, gate);
      }
      return (original as Handler).apply(this, args);
    };
  }
  return true;
}
