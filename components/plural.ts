// "1 rater", "2 raters": a count with its noun, English plural by default or given.
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}
