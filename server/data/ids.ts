// Ids for rows written by bulk SQL (imports), in the same shape as Prisma's cuid(): "c" + time +
// counter + randomness, 25 lowercase base-36 characters, roughly time-ordered.
import crypto from "node:crypto";

let counter = crypto.randomInt(0, 36 ** 4);
// Random bytes are drawn in blocks: one syscall per 512 ids instead of one per id.
let pool = Buffer.alloc(0);
let offset = 0;
const pad = (s: string, n: number) => (s.length >= n ? s.slice(-n) : "0".repeat(n - s.length) + s);

export function newId(): string {
  counter = (counter + 1) % 36 ** 4;
  if (offset + 8 > pool.length) {
    pool = crypto.randomBytes(4096);
    offset = 0;
  }
  const rnd = pool.readBigUInt64BE(offset);
  offset += 8;
  return `c${pad(Date.now().toString(36), 8)}${pad(counter.toString(36), 4)}${pad(rnd.toString(36), 12)}`;
}
