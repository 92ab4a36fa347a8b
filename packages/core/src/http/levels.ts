import { invalidArgument } from '../errors.js';

/**
 * Audit levels in the Kubernetes audit-policy style, per route or by ordered rules (first match
 * wins). There is no sampling level on purpose: an audit trail is complete or it is nothing.
 */
export const AUDIT_LEVELS = ['none', 'metadata', 'request', 'requestResponse'] as const;
export type AuditLevel = (typeof AUDIT_LEVELS)[number];
export const DEFAULT_LEVEL: AuditLevel = 'metadata';
export const DEFAULT_MAX_BODY_BYTES = 8192;

export interface AuditRule {
  /** Methods this rule applies to (case-insensitive); default all. */
  readonly method?: string | readonly string[];
  /** Route template (exact string) or a RegExp tested against it. */
  readonly route?: string | RegExp;
  /** Raw path (exact string) or a RegExp tested against it. */
  readonly path?: string | RegExp;
  readonly level: AuditLevel;
  /** Action name for matching requests (default "<METHOD> <route>"). */
  readonly action?: string;
}

/** Per-route settings (Fastify route config, Nest decorator, Express rules). */
export interface RouteAuditConfig {
  readonly level?: AuditLevel;
  readonly action?: string;
  /** The route streams (SSE, downloads): take its slot from the long-lived pool from the start. */
  readonly longLived?: boolean;
}

export interface LevelDecision {
  readonly level: AuditLevel;
  readonly action?: string;
}

export function isAuditLevel(x: unknown): x is AuditLevel {
  return typeof x === 'string' && (AUDIT_LEVELS as readonly string[]).includes(x);
}

/** Validate rules once, at adapter construction: a typo in a policy must fail loudly at start. */
export function compileRules(rules: unknown): readonly AuditRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw invalidArgument('rules', 'an array of {method?, route?, path?, level}', rules);
  return rules.map((r: unknown, i) => {
    if (r === null || typeof r !== 'object') throw invalidArgument(`rules[${i}]`, 'an object', r);
    const rule = r as Record<string, unknown>;
    if (!isAuditLevel(rule['level'])) throw invalidArgument(`rules[${i}].level`, AUDIT_LEVELS.join(' | '), rule['level']);
    for (const k of ['route', 'path'] as const) {
      const v = rule[k];
      if (v !== undefined && typeof v !== 'string' && !(v instanceof RegExp)) throw invalidArgument(`rules[${i}].${k}`, 'string or RegExp', v);
    }
    const m = rule['method'];
    if (m !== undefined && typeof m !== 'string' && !(Array.isArray(m) && m.every((x) => typeof x === 'string'))) throw invalidArgument(`rules[${i}].method`, 'string or string[]', m);
    if (rule['action'] !== undefined && typeof rule['action'] !== 'string') throw invalidArgument(`rules[${i}].action`, 'string', rule['action']);
    return Object.freeze({ ...(rule as unknown as AuditRule) });
  });
}

function matches(p: string | RegExp | undefined, value: string | undefined): boolean {
  if (p === undefined) return true;
  if (value === undefined) return false;
  return typeof p === 'string' ? p === value : p.test(value);
}

/** Route config wins; then the first matching rule; then the default level. */
export function resolveLevel(
  req: { method: string; route?: string | undefined; path: string },
  rules: readonly AuditRule[],
  routeConfig?: RouteAuditConfig | false,
  defaultLevel: AuditLevel = DEFAULT_LEVEL,
): LevelDecision {
  if (routeConfig === false) return { level: 'none' };
  if (routeConfig?.level !== undefined) return routeConfig.action ? { level: routeConfig.level, action: routeConfig.action } : { level: routeConfig.level };
  const method = req.method.toUpperCase();
  for (const rule of rules) {
    const ms = rule.method === undefined ? undefined : (typeof rule.method === 'string' ? [rule.method] : rule.method).map((m) => m.toUpperCase());
    if (ms !== undefined && !ms.includes(method)) continue;
    if (!matches(rule.route, req.route) || !matches(rule.path, req.path)) continue;
    const action = rule.action ?? routeConfig?.action;
    return action ? { level: rule.level, action } : { level: rule.level };
  }
  return routeConfig?.action ? { level: defaultLevel, action: routeConfig.action } : { level: defaultLevel };
}
