// Reference-model log-probs, computed once per (pair, reference checkpoint) and cached. The
// reference model is frozen, so its log-probs of a fixed completion never change: the trainer
// service can persist this cache (toJSON) next to the reference checkpoint and skip the forward
// passes on the next round.

/** Log-probs of one pair under one reference: {chosen, rejected} for pairs, {completion, kl} for KTO. */
export type RefLogps = Record<string, number>;

export interface RefLogpCacheJSON {
  version: 1;
  /** referenceId -> pairKey -> log-probs */
  entries: Record<string, Record<string, RefLogps>>;
}

/** In-memory cache keyed by (reference checkpoint id, pair key); JSON-serialisable. */
export class RefLogpCache {
  private readonly byRef = new Map<string, Map<string, RefLogps>>();

  get(referenceId: string, pairKey: string): RefLogps | undefined {
    return this.byRef.get(referenceId)?.get(pairKey);
  }

  set(referenceId: string, pairKey: string, value: RefLogps): void {
    let m = this.byRef.get(referenceId);
    if (!m) this.byRef.set(referenceId, (m = new Map()));
    m.set(pairKey, { ...value });
  }

  has(referenceId: string, pairKey: string): boolean {
    return this.byRef.get(referenceId)?.has(pairKey) ?? false;
  }

  /** Number of cached (reference, pair) entries. */
  get size(): number {
    let n = 0;
    for (const m of this.byRef.values()) n += m.size;
    return n;
  }

  /** Drops every entry of one reference (e.g. when its checkpoint is deleted). */
  deleteReference(referenceId: string): void {
    this.byRef.delete(referenceId);
  }

  toJSON(): RefLogpCacheJSON {
    const entries: RefLogpCacheJSON["entries"] = {};
    for (const [ref, m] of this.byRef) entries[ref] = Object.fromEntries(m);
    return { version: 1, entries };
  }

  static fromJSON(json: unknown): RefLogpCache {
    const j = json as Partial<RefLogpCacheJSON>;
    if (!j || j.version !== 1 || typeof j.entries !== "object" || j.entries === null) {
      throw new Error(
        "Not a reference log-prob cache (expected {version: 1, entries: {...}} from RefLogpCache#toJSON)",
      );
    }
    const c = new RefLogpCache();
    for (const [ref, m] of Object.entries(j.entries))
      for (const [k, v] of Object.entries(m)) c.set(ref, k, v);
    return c;
  }
}
