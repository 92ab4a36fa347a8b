import type { DurableAck } from '../log/appender.js';
import { invalidArgument } from '../errors.js';
import type { AuditEvent } from '../record/record.js';
import type { Slot } from './admission.js';

/**
 * The reserved-slot handle both engines (in-thread and laned) hand out: it forwards to the engine
 * that admitted it. Types are structural so that this module depends on neither engine.
 */
export interface SlotOwner {
  fill(slot: Slot, id: string, event: Omit<AuditEvent, 'id'>, ack?: DurableAck): void;
  unreserve(slot: Slot): void;
  markLong(slot: Slot): void;
}

export interface SlotReceipt {
  readonly id: string;
  readonly seq: number;
  readonly durable: boolean;
  readonly lane?: number;
}

export class ReservedSlot {
  constructor(
    private readonly owner: SlotOwner,
    private readonly slot: Slot,
    readonly id: string,
  ) {}

  commit(event: Omit<AuditEvent, 'id'>): void {
    this.owner.fill(this.slot, this.id, event);
  }

  commitDurable(event: Omit<AuditEvent, 'id'>): Promise<SlotReceipt> {
    return new Promise((resolve, reject) => this.owner.fill(this.slot, this.id, event, { resolve, reject }));
  }

  release(): void {
    this.owner.unreserve(this.slot);
  }

  markLongLived(): void {
    this.owner.markLong(this.slot);
  }
}

/** reserve()'s argument check, shared by both engines. */
export function checkReserveOptions(options: unknown): asserts options is { endpoint?: string; longLived?: boolean } {
  if (options === null || typeof options !== 'object') throw invalidArgument('options', 'an object {endpoint?, longLived?}', options);
  const o = options as { endpoint?: unknown; longLived?: unknown };
  if (o.endpoint !== undefined && (typeof o.endpoint !== 'string' || o.endpoint.length === 0)) throw invalidArgument('options.endpoint', 'a non-empty string', o.endpoint);
  if (o.longLived !== undefined && typeof o.longLived !== 'boolean') throw invalidArgument('options.longLived', 'boolean', o.longLived);
}
