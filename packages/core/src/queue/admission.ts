/**
 * Admission: the bounded queue's accounting. Occupancy = reserved slots + records waiting to be
 * appended, and a new short admission needs occupancy < depth.
 *
 * Long-lived requests (streams, uploads, server-sent events) would otherwise pin short-request
 * capacity for minutes. A reservation older than `longLivedAfterMs` (or marked long-lived by the
 * adapter) moves out of the main budget into a separate pool of `longLivedSlots`, if that pool
 * has room; a long-lived reservation's record, when it is filled, may take the queue up to
 * depth + longLivedSlots. So: short requests are never starved by long ones beyond the pool, and
 * memory stays bounded by depth + longLivedSlots records.
 */

export interface Slot {
  readonly started: number;
  long: boolean;
  open: boolean;
}

export class Admission {
  private shortReserved = 0;
  private longReserved = 0;
  private waiting = 0;
  private readonly live = new Set<Slot>();

  constructor(
    private depth: number,
    private longSlots: number,
    private longAfterMs: number,
  ) {}

  get occupancy(): number {
    return this.shortReserved + this.longReserved + this.waiting;
  }

  get pending(): number {
    return this.waiting;
  }

  get reserved(): number {
    return this.shortReserved + this.longReserved;
  }

  get capacity(): number {
    return this.depth;
  }

  /** True when a new short admission would be refused. */
  get saturated(): boolean {
    return this.shortReserved + this.waiting >= this.depth;
  }

  /** Hot reload: a smaller depth admits nothing new until occupancy falls below it; nothing admitted is dropped. */
  resize(depth: number, longSlots: number, longAfterMs: number = this.longAfterMs): void {
    this.depth = depth;
    this.longSlots = longSlots;
    this.longAfterMs = longAfterMs;
  }

  /** Admit one record directly (emit path). */
  tryEnqueue(): boolean {
    if (this.saturated) return false;
    this.waiting++;
    return true;
  }

  /** The engine's own records (key rotation): admitted whatever the occupancy, still counted. */
  enqueueInternal(): void {
    this.waiting++;
  }

  tryReserve(now: number, long = false): Slot | null {
    // A long-lived slot's record, once filled, waits outside the pool; without the occupancy
    // check, streams ending and starting within one tick would queue records without bound.
    if (long && this.longReserved < this.longSlots && this.occupancy < this.depth + this.longSlots) {
      const slot: Slot = { started: now, long: true, open: true };
      this.longReserved++;
      this.live.add(slot);
      return slot;
    }
    if (this.saturated) return null;
    const slot: Slot = { started: now, long: false, open: true };
    this.shortReserved++;
    this.live.add(slot);
    return slot;
  }

  markLong(slot: Slot): void {
    if (!slot.open || slot.long || this.longReserved >= this.longSlots) return;
    slot.long = true;
    this.shortReserved--;
    this.longReserved++;
  }

  /** Close a slot; `filled` turns it into a waiting record (always admitted: it was reserved). */
  settle(slot: Slot, filled: boolean): void {
    if (!slot.open) return;
    slot.open = false;
    this.live.delete(slot);
    if (slot.long) this.longReserved--;
    else this.shortReserved--;
    if (filled) this.waiting++;
  }

  /** The appender took `n` waiting records. */
  taken(n: number): void {
    this.waiting -= n;
  }

  /** Move reservations older than longAfterMs into the long-lived pool while it has room. */
  sweep(now: number): void {
    if (this.longReserved >= this.longSlots) return;
    for (const slot of this.live) {
      if (!slot.long && now - slot.started >= this.longAfterMs) {
        this.markLong(slot);
        if (this.longReserved >= this.longSlots) return;
      }
    }
  }

  openSlots(): Slot[] {
    return [...this.live];
  }
}
