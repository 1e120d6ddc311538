// K-way ranking as an ordered list of items. `tied` joins an item to the one above it (same
// place); `unranked` items (partial rankings) sit after the ranked ones and are left out.
export interface RankItem {
  id: string;
  tied: boolean;
  unranked: boolean;
}

export function initialRanking(ids: readonly string[]): RankItem[] {
  return ids.map((id) => ({ id, tied: false, unranked: false }));
}

/** Best-first groups of ids, as the server's ranking answer takes them. */
export function toGroups(items: readonly RankItem[]): string[][] {
  const groups: string[][] = [];
  for (const it of items) {
    if (it.unranked) continue;
    const last = groups[groups.length - 1];
    if (it.tied && last) last.push(it.id);
    else groups.push([it.id]);
  }
  return groups;
}

function normalise(items: RankItem[]): RankItem[] {
  const ranked = items.filter((i) => !i.unranked);
  const unranked = items.filter((i) => i.unranked).map((i) => ({ ...i, tied: false }));
  // the first ranked item cannot be tied to anything above it
  return [...ranked.map((i, k) => (k === 0 ? { ...i, tied: false } : i)), ...unranked];
}

/** Moves item `index` by `delta` places (−1 up, +1 down); returns the new list and index. */
export function moveItem(
  items: readonly RankItem[],
  index: number,
  delta: number,
): { items: RankItem[]; index: number } {
  const target = index + delta;
  if (index < 0 || index >= items.length || target < 0 || target >= items.length)
    return { items: items.slice(), index };
  const out = items.slice();
  const [it] = out.splice(index, 1);
  out.splice(target, 0, { ...it!, tied: false });
  const norm = normalise(out);
  return { items: norm, index: norm.findIndex((x) => x.id === it!.id) };
}

/** Moves the item with id `dragId` to where `dropId` is (drag and drop). */
export function moveTo(items: readonly RankItem[], dragId: string, dropId: string): RankItem[] {
  const from = items.findIndex((i) => i.id === dragId);
  const to = items.findIndex((i) => i.id === dropId);
  if (from < 0 || to < 0 || from === to) return items.slice();
  return moveItem(items, from, to - from).items;
}

export function toggleTie(items: readonly RankItem[], index: number): RankItem[] {
  const it = items[index];
  if (!it || it.unranked || index === 0) return items.slice();
  return normalise(items.map((x, k) => (k === index ? { ...x, tied: !x.tied } : x)));
}

export function toggleUnranked(
  items: readonly RankItem[],
  index: number,
): { items: RankItem[]; index: number } {
  const it = items[index];
  if (!it) return { items: items.slice(), index };
  const norm = normalise(
    items.map((x, k) => (k === index ? { ...x, unranked: !x.unranked, tied: false } : x)),
  );
  return { items: norm, index: norm.findIndex((x) => x.id === it.id) };
}

/** The place shown for each item (1-based; tied items share a place), null when unranked. */
export function places(items: readonly RankItem[]): Array<number | null> {
  let place = 0;
  let seen = 0;
  return items.map((it) => {
    if (it.unranked) return null;
    seen++;
    if (!it.tied) place = seen;
    return place;
  });
}
