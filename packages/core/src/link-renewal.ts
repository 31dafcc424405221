/**
 * Renewing an expired signed link (401/403/410 after the download started): the original URL
 * is probed again for a fresh one. One renewal at a time (every connection that meets the
 * expiry waits for the same one), within a budget that counts renewals that brought no
 * progress: a long download behind short-lived links may renew many times.
 */
import type { HttpStatusError } from './errors.ts';

export class LinkRenewal {
  private pending: Promise<void> | null = null;
  private renewals = 0;
  private bytesAtLast = 0;

  constructor(
    private readonly o: {
      maxRenewals: number;
      doneBytes: () => number;
      renew: (cause: HttpStatusError) => Promise<void>;
    },
  ) {}

  /** The renewal under way, or a new one; null when the budget is spent (the error stands). */
  request(cause: HttpStatusError): Promise<void> | null {
    if (this.renewals >= this.o.maxRenewals) return null;
    if (this.pending) return this.pending;
    if (this.o.doneBytes() > this.bytesAtLast) this.renewals = 0;
    this.bytesAtLast = this.o.doneBytes();
    this.renewals++;
    this.pending = this.o.renew(cause).finally(() => {
      this.pending = null;
    });
    return this.pending;
  }
}
