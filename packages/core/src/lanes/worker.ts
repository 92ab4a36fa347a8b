import { parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { Engine } from '../engine.js';
import { laneExtension } from '../log/checkpoint.js';
import type { DurableAck } from '../log/appender.js';
import type { AuditLogger } from '../logger.js';
import type { AuditMetrics, GaugeSource } from '../metrics.js';
import { NO_ACK, plain, readPrepared, toWire, type FromLane, type LaneInit, type LaneOp, type LaneStatus, type ToLane } from './protocol.js';

/**
 * A lane: one engine (its own origin, chain, tree, checkpoints, WAL and export directories) in a
 * worker thread. The main thread admits and prepares records and sends them here in batches;
 * this thread builds, hashes, chains, signs, writes and fsyncs them. Everything the engine would
 * tell the host — metrics, log lines, durable acknowledgements, how many records it took — goes
 * back in one outbox message per event-loop turn.
 */

const HEARTBEAT_MS = 200;

class LaneOutbox {
  private ops: LaneOp[] = [];
  private scheduled = false;
  private lastCheckpointSize = -1;
  private lastCheckpointTime = -1;
  source: GaugeSource | undefined;
  engine: Engine | undefined;

  constructor(private readonly port: NonNullable<typeof parentPort>) {}

  push(op: LaneOp): void {
    this.ops.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Send what is buffered now, with the lane's status (called before every reply, so the main thread applies it first). */
  flush(): void {
    this.scheduled = false;
    const msg: FromLane = { t: 'o', ops: this.ops, status: this.status() };
    this.ops = [];
    this.port.postMessage(msg);
  }

  private status(): LaneStatus | undefined {
    const e = this.engine;
    if (!e) return undefined;
    const cp = e.checkpoint();
    let verifierKey: string | undefined;
    try {
      verifierKey = e.verifierKey();
    } catch {
      verifierKey = undefined;
    }
    const changed = cp !== undefined && (cp.size !== this.lastCheckpointSize || cp.time !== this.lastCheckpointTime);
    if (changed) {
      this.lastCheckpointSize = cp.size;
      this.lastCheckpointTime = cp.time;
    }
    return {
      health: e.health(),
      exportAge: this.source?.exportCheckpointAge?.(),
      degraded: this.source?.degraded?.() ?? [],
      shipLag: this.source?.shipLag?.(),
      verifierKey,
      ...(changed ? { checkpoint: { note: cp.note, size: cp.size, root: cp.root, time: cp.time } } : {}),
    };
  }
}

/** Metrics whose every update is forwarded to the main thread's registry (the host's). */
function relayMetrics(out: LaneOutbox): AuditMetrics {
  const metric = (key: string) => ({
    inc(a?: Record<string, string> | number, b?: number) {
      out.push(typeof a === 'object' ? ['m', key, 'inc', a, b ?? 1] : ['m', key, 'inc', undefined, a ?? 1]);
    },
    observe(a: Record<string, string> | number, b?: number) {
      out.push(typeof a === 'object' ? ['m', key, 'observe', a, b ?? 0] : ['m', key, 'observe', undefined, a]);
    },
  });
  const keys = ['appended', 'bytes', 'drops', 'busyRejections', 'verifyFail', 'checkpoints', 'walFsync', 'exportBatch', 'exportCheckpoints', 'notDurable', 'shipped', 'equivocations'];
  const m: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, metric(k)]));
  // The gauges are computed from the lane's status on the main thread.
  for (const k of ['queueDepth', 'exportCheckpointAge', 'degraded', 'shipLag']) m[k] = { set() {} };
  m['registry'] = new Registry();
  m['attach'] = (source: GaugeSource) => {
    out.source = source;
    return () => (out.source = undefined);
  };
  return m as unknown as AuditMetrics;
}

function relayLogger(out: LaneOutbox, index: number): AuditLogger {
  const line = (level: 'info' | 'warn' | 'error') => (obj: object, msg?: string) => out.push(['l', level, { ...plain(obj), 'audit.lane': index }, msg]);
  return { info: line('info'), warn: line('warn'), error: line('error') };
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('lanes/worker.js runs as a worker thread of a laned engine');
  const init = workerData as LaneInit;
  const out = new LaneOutbox(port);
  const engine = new Engine(
    { ...init.options, env: {}, logger: relayLogger(out, init.index) },
    { metrics: relayMetrics(out), onTaken: (n) => out.push(['t', n]), onInternal: () => out.push(['n']), checkpointExtensions: [laneExtension(init.index, init.count)] },
  );
  out.engine = engine;
  const heartbeat = setInterval(() => out.flush(), HEARTBEAT_MS);

  const ackFor = (token: number): DurableAck | undefined =>
    token === NO_ACK
      ? undefined
      : {
          resolve: (r) => out.push(['a', token, r.id, r.seq, r.durable]),
          reject: (err) => out.push(['x', token, toWire(err)]),
        };

  const reply = (id: number, work: () => unknown): void => {
    Promise.resolve()
      .then(work)
      .then(
        (value) => {
          out.flush();
          port.postMessage({ t: 'reply', id, value } satisfies FromLane);
        },
        (err: unknown) => {
          out.flush();
          port.postMessage({ t: 'reply', id, error: toWire(err) } satisfies FromLane);
        },
      );
  };

  port.on('message', (msg: ToLane) => {
    if (msg.t === 'b') {
      const r = msg.r;
      for (let i = 0; i < r.length; ) {
        const { p, ack, next } = readPrepared(r, i);
        i = next;
        // Refused only once closed or failed; the main thread's admission still gets its slot back.
        if (!engine.appendPrepared(p, ackFor(ack))) out.push(['t', 1]);
      }
      return;
    }
    switch (msg.op) {
      case 'flush':
        return reply(msg.id, () => engine.flush());
      case 'read':
        return reply(msg.id, () => engine.read(msg.arg as { from?: number; to?: number }));
      case 'prove':
        return reply(msg.id, () => engine.prove(msg.arg as number));
      case 'snapshot':
        return reply(msg.id, () => engine.snapshot());
      case 'reload':
        return reply(msg.id, () => engine.reload(msg.arg as Parameters<Engine['reload']>[0]));
      case 'close':
        return reply(msg.id, async () => {
          clearInterval(heartbeat);
          await engine.close(msg.arg as { timeoutMs?: number });
        });
    }
  });

  engine.ready().then(
    () => {
      out.flush();
      port.postMessage({ t: 'ready' } satisfies FromLane);
    },
    (err: unknown) => {
      out.flush();
      port.postMessage({ t: 'ready', error: toWire(err) } satisfies FromLane);
    },
  );
}

main();
