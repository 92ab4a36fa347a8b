import 'reflect-metadata';
import { AuditError, AUDIT_LEVELS, isAuditLevel, type RouteAuditConfig } from '@ron-audit/core';

/**
 * Per-route audit settings as Nest metadata. On a class they apply to every handler of the
 * controller that does not carry its own: the class decorator copies itself onto those methods,
 * because Nest hands the platform router only the method's metadata, and admission must know a
 * route's level before guards run.
 */

export const AUDIT_ROUTE_METADATA = 'ron-audit:route';

/** `@Audit()`'s settings: the core's RouteAuditConfig plus `durable`. */
export interface AuditRouteConfig extends RouteAuditConfig {
  /** Hold this route's write responses until their record is durable (wins over the module's `durable`). */
  readonly durable?: boolean;
}

/** What `@Audit()` / `@SkipAudit()` store: a route config, or false for "not audited". */
export type AuditRouteMetadata = AuditRouteConfig | false;

const ROUTE_KEYS = ['level', 'action', 'longLived', 'durable'];

function badArgument(name: string, expected: string, value: unknown): AuditError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : value === null ? 'null' : typeof value;
  return new AuditError('AUDIT_INVALID_ARGUMENT', `${name}: expected ${expected}, received ${shown}`, { argument: name });
}

function validate(config: unknown): AuditRouteConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw badArgument('@Audit(config)', 'an object {level?, action?, longLived?, durable?}', config);
  const c = config as Record<string, unknown>;
  for (const key of Object.keys(c)) if (!ROUTE_KEYS.includes(key)) throw badArgument(`@Audit(config).${key}`, `one of ${ROUTE_KEYS.join(', ')}`, key);
  if (c['level'] !== undefined && !isAuditLevel(c['level'])) throw badArgument('@Audit(config).level', AUDIT_LEVELS.join(' | '), c['level']);
  if (c['action'] !== undefined && (typeof c['action'] !== 'string' || c['action'].length === 0 || c['action'].length > 256)) {
    throw badArgument('@Audit(config).action', 'a string of 1–256 characters', c['action']);
  }
  if (c['longLived'] !== undefined && typeof c['longLived'] !== 'boolean') throw badArgument('@Audit(config).longLived', 'a boolean', c['longLived']);
  if (c['durable'] !== undefined && typeof c['durable'] !== 'boolean') throw badArgument('@Audit(config).durable', 'a boolean', c['durable']);
  return Object.freeze({ ...(c as AuditRouteConfig) });
}

function routeDecorator(value: AuditRouteMetadata): ClassDecorator & MethodDecorator {
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor !== undefined) {
      Reflect.defineMetadata(AUDIT_ROUTE_METADATA, value, descriptor.value as object);
      return;
    }
    Reflect.defineMetadata(AUDIT_ROUTE_METADATA, value, target);
    const proto = (target as { prototype?: object }).prototype;
    if (proto === undefined) return;
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor') continue;
      const method = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (typeof method === 'function' && !Reflect.hasOwnMetadata(AUDIT_ROUTE_METADATA, method)) Reflect.defineMetadata(AUDIT_ROUTE_METADATA, value, method);
    }
  };
}

/**
 * Audit this route (or every route of this controller) with these settings:
 * `level` ('none' | 'metadata' | 'request' | 'requestResponse'), `action` (the record's action,
 * default "<METHOD> <route>"), `longLived` (streams: take the slot from the long-lived pool),
 * `durable` (hold write responses until their record is durable).
 */
export function Audit(config: AuditRouteConfig = {}): ClassDecorator & MethodDecorator {
  return routeDecorator(validate(config));
}

/** Do not audit this route (or any route of this controller): no record, no Audit-Id, never refused for saturation. */
export function SkipAudit(): ClassDecorator & MethodDecorator {
  return routeDecorator(false);
}
