// Safetensors weights of Hugging Face folders: one model.safetensors or shards listed in
// model.safetensors.index.json; F32, F16 and BF16 (converted to float32 on load, since every tfjs
// backend computes in float32), and the same dtypes on save.
import { promises as fs } from "node:fs";
import path from "node:path";

export type WeightDtype = "float32" | "float16" | "bfloat16";
const ST_DTYPE: Record<WeightDtype, string> = { float32: "F32", float16: "F16", bfloat16: "BF16" };

export interface LoadedWeights {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** Stored dtypes seen (e.g. ["BF16"]). */
  dtypes: string[];
  files: string[];
}

// float16 -> float32 through a 64K-entry table (built once, 256 KB).
let F16: Float32Array | null = null;
function f16Table(): Float32Array {
  if (F16) return F16;
  F16 = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    F16[h] =
      e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return F16;
}

function toFloat32(dtype: string, bytes: Buffer, where: string): Float32Array {
  if (dtype === "F32") {
    const out = new Float32Array(bytes.length / 4);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  if (dtype === "BF16" || dtype === "F16") {
    const n = bytes.length / 2;
    const u16 = new Uint16Array(n);
    new Uint8Array(u16.buffer).set(bytes);
    const out = new Float32Array(n);
    if (dtype === "BF16") {
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u32[i] = (u16[i] as number) << 16; // bf16 is the top half of an f32
    } else {
      const t = f16Table();
      for (let i = 0; i < n; i++) out[i] = t[u16[i] as number] as number;
    }
    return out;
  }
  if (dtype === "F64")
    return Float32Array.from(
      new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
    );
  throw new Error(`${where}: dtype ${dtype} is not supported (F32, F16, BF16)`);
}

/** Parses one safetensors buffer into float32 tensors. */
export function readSafetensorsF32(
  buf: Buffer,
  where: string,
  into: LoadedWeights["tensors"] = new Map(),
  dtypes = new Set<string>(),
): LoadedWeights["tensors"] {
  if (buf.length < 8) throw new Error(`${where} is truncated (${buf.length} bytes)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.length - 8) throw new Error(`${where}: header length ${n} exceeds the file size (truncated?)`);
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + n;
  for (const [name, h] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [b, e] = h.data_offsets;
    if (base + e > buf.length) throw new Error(`${where}: tensor ${name} runs past the end of the file`);
    dtypes.add(h.dtype);
    const data = toFloat32(h.dtype, buf.subarray(base + b, base + e), `${where} ${name}`);
    const count = h.shape.reduce((a, x) => a * x, 1);
    if (count !== data.length)
      throw new Error(`${where}: tensor ${name} has ${data.length} values for [${h.shape}]`);
    into.set(name, { shape: h.shape, data });
  }
  return into;
}

/** Reads a folder's weights: model.safetensors, or the shards its index names. */
export async function readHfWeights(dir: string): Promise<LoadedWeights> {
  const index = path.join(dir, "model.safetensors.index.json");
  let files: string[];
  const idx = await fs.readFile(index, "utf8").catch(() => null);
  if (idx !== null) {
    const map = (JSON.parse(idx) as { weight_map?: Record<string, string> }).weight_map ?? {};
    files = [...new Set(Object.values(map))].sort();
    if (!files.length) throw new Error(`${index} lists no shards`);
  } else {
    const single = path.join(dir, "model.safetensors");
    if (!(await fs.stat(single).catch(() => null))) {
      const bin = await fs.stat(path.join(dir, "pytorch_model.bin")).catch(() => null);
      throw new Error(
        `${dir} has no model.safetensors (or model.safetensors.index.json)` +
          (bin
            ? "; it holds pytorch_model.bin, which Pairwise does not read: re-save it with safe_serialization"
            : ""),
      );
    }
    files = ["model.safetensors"];
  }
  const tensors: LoadedWeights["tensors"] = new Map();
  const dtypes = new Set<string>();
  for (const f of files) {
    const p = path.join(dir, f);
    readSafetensorsF32(await fs.readFile(p), p, tensors, dtypes);
  }
  return { tensors, dtypes: [...dtypes], files };
}

function f32ToBf16(x: Float32Array): Uint16Array {
  const u32 = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const u = u32[i] as number;
    if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff)
      out[i] = 0x7fc0; // NaN
    else out[i] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff; // round to nearest even
  }
  return out;
}

function f32ToF16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < x.length; i++) {
    f[0] = x[i] as number;
    const b = u[0] as number;
    const sign = (b >>> 16) & 0x8000;
    const e = ((b >>> 23) & 0xff) - 127 + 15;
    let m = b & 0x7fffff;
    if (((b >>> 23) & 0xff) === 0xff) out[i] = sign | 0x7c00 | (m ? 0x200 : 0);
    else if (e >= 31)
      out[i] = sign | 0x7c00; // overflow -> inf
    else if (e <= 0) {
      if (e < -10) out[i] = sign;
      else {
        m |= 0x800000;
        const shift = 14 - e;
        let h = m >>> shift;
        const rem = m & ((1 << shift) - 1);
        const half = 1 << (shift - 1);
        if (rem > half || (rem === half && h & 1)) h++;
        out[i] = sign | h;
      }
    } else {
      let h = (e << 10) | (m >>> 13);
      const rem = m & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
      out[i] = sign | h;
    }
  }
  return out;
}

/** One safetensors buffer of named float32 tensors, stored as `dtype`. */
export function writeSafetensors(
  tensors: Iterable<[string, { shape: number[]; data: Float32Array }]>,
  dtype: WeightDtype = "float32",
  metadata: Record<string, string> = { format: "pt" },
): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const raw = dtype === "float32" ? t.data : dtype === "bfloat16" ? f32ToBf16(t.data) : f32ToF16(t.data);
    const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    header[name] = { dtype: ST_DTYPE[dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const h = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + h.length + offset);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(out, 8);
  let o = 8 + h.length;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
