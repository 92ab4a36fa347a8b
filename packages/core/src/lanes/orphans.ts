import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditConfig } from '../config.js';
import { listSegments } from '../sinks/wal/segment.js';

/**
 * Logs in the WAL and export directories that this start will not continue, because
 * AUDIT_WORKERS changed since they were written (docs/scaling.md, "Changing AUDIT_WORKERS"): an
 * in-thread log next to lanes, or lanes beyond the configured count. They are left untouched;
 * the engine says so once at start, so an operator can verify and archive them.
 */
export function orphanedLogs(config: AuditConfig): string[] {
  const out: string[] = [];
  const lanes = config.workers;
  const scan = (dir: string, ownLog: (names: string[]) => boolean) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    if (lanes > 0 && ownLog(names)) out.push(dir);
    for (const n of names) {
      const m = /^lane-(\d+)$/.exec(n);
      if (m && Number(m[1]) >= lanes) out.push(join(dir, n));
    }
  };
  if (config.walEnabled) scan(config.walDir, (names) => listSegments(names).length > 0);
  if (config.exportEnabled) scan(config.exportDir, (names) => names.includes('checkpoint'));
  return out;
}

export function orphanWarning(dirs: readonly string[], workers: number): string {
  return `audit: ${dirs.length} log(s) will not be continued with AUDIT_WORKERS=${workers} (written with another AUDIT_WORKERS): ${dirs.join(', ')} — they are left as they are; verify each (ronctl audit verify --export-dir <dir> --key <verifier key>) and archive them`;
}
