/** Which of these API keys no longer stand (revoked or gone). */
export type LapsedKeys = (keyIds: string[]) => Promise<Set<string>>;

/** How old a reading of key standing a broadcast may go by: a revoked key's watchers may be sent this long after the revocation is in D1. */
export const STANDING_TTL_MS = 1_000;
/** A reading older than this is read again beside the broadcast that uses it, so a busy job's broadcasts never wait on D1. */
const REFRESH_AFTER_MS = 250;

interface Reading {
  at: number;
  keyIds: Set<string>;
  lapsed: Set<string>;
}

/**
 * The standing of the API keys a job's watchers stand on, for its broadcasts. A D1 read
 * before every broadcast put a D1 round trip (a cross-region one from a DO far from the
 * database) between every encoder event and its watchers; a reading is used for up to
 * STANDING_TTL_MS instead, and read again ahead of time while events keep coming. One
 * that is too old or does not cover every key asked about is waited for.
 */
export class KeyStanding {
  private reading: Reading | null = null;
  private refreshing = false;

  constructor(private readonly read: LapsedKeys) {}

  /** Which of `keyIds` no longer stand, as D1 said at most STANDING_TTL_MS before `now`. */
  readonly lapsed = async (keyIds: string[], now: number): Promise<Set<string>> => {
    const known = this.reading;
    if (!known || now - known.at >= STANDING_TTL_MS || !keyIds.every((id) => known.keyIds.has(id))) return (await this.take(keyIds, now)).lapsed;
    if (now - known.at >= REFRESH_AFTER_MS && !this.refreshing) {
      this.refreshing = true;
      this.take(keyIds, now)
        .catch(() => undefined)
        .finally(() => (this.refreshing = false));
    }
    return known.lapsed;
  };

  /** A reading counts from when its read began. */
  private async take(keyIds: string[], now: number): Promise<Reading> {
    const reading = { at: now, keyIds: new Set(keyIds), lapsed: await this.read(keyIds) };
    if (!this.reading || this.reading.at <= now) this.reading = reading;
    return reading;
  }
}
