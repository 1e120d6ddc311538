// The safetensors file format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {str: str}}, then the raw little-endian tensor bytes, contiguous and in offset order.

export type SafeDtype = "F32" | "I32";
export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Serialises named tensors (in the given order) into one safetensors buffer. */
export function encodeSafetensors(
  tensors: Map<string, SafeTensor>,
  metadata: Record<string, string> = {},
): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header["__metadata__"] = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " "; // align the data section to 8 bytes
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let o = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    // Node and every platform tfjs runs on are little-endian, as the format requires.
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, o);
    o += t.data.byteLength;
  }
  return out;
}

/** Parses a safetensors buffer. `where` names the file in error messages. */
export function decodeSafetensors(
  buf: Buffer,
  where = "safetensors file",
): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error(`${where} is truncated (${buf.length} bytes)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.length - 8)
    throw new Error(`${where}: header length ${n} exceeds the file size; the file is corrupt or truncated`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  } catch {
    throw new Error(`${where}: header is not valid JSON; the file is corrupt`);
  }
  const base = 8 + n;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, h] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = h as unknown as Record<string, string>;
      continue;
    }
    const [begin, end] = h.data_offsets;
    if (base + end > buf.length)
      throw new Error(`${where}: tensor ${name} runs past the end of the file (truncated?)`);
    const bytes = buf.subarray(base + begin, base + end);
    const copy = new ArrayBuffer(bytes.length); // aligned copy
    new Uint8Array(copy).set(bytes);
    let data: Float32Array | Int32Array;
    if (h.dtype === "F32") data = new Float32Array(copy);
    else if (h.dtype === "I32") data = new Int32Array(copy);
    else throw new Error(`${where}: tensor ${name} has dtype ${h.dtype}; only F32 and I32 are supported`);
    const count = h.shape.reduce((a, b) => a * b, 1);
    if (count !== data.length)
      throw new Error(`${where}: tensor ${name} has ${data.length} values for shape [${h.shape}]`);
    tensors.set(name, { dtype: h.dtype, shape: h.shape, data });
  }
  return { tensors, metadata };
}
