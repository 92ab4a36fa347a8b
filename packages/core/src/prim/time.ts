/**
 * The format's one time syntax (docs/format.md §2.1, §5): RFC 3339 UTC with milliseconds,
 * `YYYY-MM-DDTHH:MM:SS.sssZ`, as records carry in `time` and checkpoints in their time line.
 */

const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Whether `s` is such a time and names a real instant (no 2026-02-30). */
export function isRfc3339Millis(s: string): boolean {
  if (!TIME_RE.test(s)) return false;
  const t = Date.parse(s);
  return Number.isFinite(t) && new Date(t).toISOString() === s;
}
