/**
 * Connection slots shared by every job: a global maximum and a per-host maximum (aria2#577),
 * lowered for a host that answers 429 or 503 and restored slowly afterwards.
 */

interface Waiter {
  host: string;
  resolve: (release: () => void) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export interface PoolLimits {
  maxGlobal: number;
  maxPerHost: number;
}

const PENALTY_RECOVERY_MS = 30_000;

export class ConnectionPool {
  private readonly open = new Map<string, number>();
  private readonly hostCaps = new Map<string, { cap: number; since: number }>();
  private readonly waiters: Waiter[] = [];
  private total = 0;

  constructor(private limits: PoolLimits) {}

  setLimits(limits: PoolLimits): void {
    this.limits = limits;
    this.drain();
  }

  get openConnections(): number {
    return this.total;
  }

  openFor(host: string): number {
    return this.open.get(host) ?? 0;
  }

  /** The current cap for a host: the configured maximum, or less after 429/503. */
  capFor(host: string, now = Date.now()): number {
    const penalty = this.hostCaps.get(host);
    if (!penalty) return this.limits.maxPerHost;
    const recovered = penalty.cap + Math.floor((now - penalty.since) / PENALTY_RECOVERY_MS);
    if (recovered >= this.limits.maxPerHost) {
      this.hostCaps.delete(host);
      return this.limits.maxPerHost;
    }
    return recovered;
  }

  /** Halves the host's cap (at least 1) after the server said it is overloaded. Returns the new cap. */
  penalize(host: string, now = Date.now()): number {
    const cap = Math.max(1, Math.floor(Math.max(this.openFor(host), 1) / 2));
    const current = this.capFor(host, now);
    const next = Math.min(cap, current);
    this.hostCaps.set(host, { cap: next, since: now });
    return next;
  }

  private canOpen(host: string): boolean {
    return this.total < this.limits.maxGlobal && this.openFor(host) < this.capFor(host);
  }

  private take(host: string): () => void {
    this.total++;
    this.open.set(host, this.openFor(host) + 1);
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      this.total--;
      this.open.set(host, this.openFor(host) - 1);
      this.drain();
    };
  }

  /** Resolves with a release function once a slot for `host` is free; FIFO per host. */
  acquire(host: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.canOpen(host) && !this.waiters.some((w) => w.host === host)) return Promise.resolve(this.take(host));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        host,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private drain(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i] as Waiter;
      if (this.canOpen(w.host)) {
        this.waiters.splice(i, 1);
        w.signal.removeEventListener('abort', w.onAbort);
        w.resolve(this.take(w.host));
      } else {
        i++;
      }
    }
  }
}
