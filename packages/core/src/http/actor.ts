import type { Actor } from '../record/record.js';

/**
 * The default actor: `req.user` as Passport and @fastify/jwt leave it — `id`, else `sub` (JWT).
 * `name` from `name`/`username`/`preferred_username`, `groups` from `groups`/`roles` when they are
 * string arrays. Returns undefined when there is no user (the record then says anonymous).
 */
export function defaultActor(user: unknown): Actor | undefined {
  if (user === null || typeof user !== 'object') return undefined;
  const u = user as Record<string, unknown>;
  const rawId = u['id'] ?? u['sub'];
  if ((typeof rawId !== 'string' || rawId.length === 0) && typeof rawId !== 'number') return undefined;
  const actor: { id: string; type: string; name?: string; groups?: string[] } = { id: String(rawId).slice(0, 256), type: typeof u['type'] === 'string' ? (u['type'] as string) : 'user' };
  const name = u['name'] ?? u['username'] ?? u['preferred_username'];
  if (typeof name === 'string') actor.name = name.slice(0, 256);
  const groups = u['groups'] ?? u['roles'];
  if (Array.isArray(groups) && groups.every((g) => typeof g === 'string')) actor.groups = (groups as string[]).slice(0, 64);
  return actor;
}
