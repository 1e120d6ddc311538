// Content hashes: the identity of imported content, so re-importing the same file adds nothing.
//  - a text prompt hashes its text; a conversation prompt hashes the JSON of its [{role, content}]
//    (keys in that order), so the same conversation always gets the same hash;
//  - a completion hashes its text (unique per prompt);
//  - a comparison hashes its prompt's hash and its completions' hashes, sorted, so the order the
//    completions came in (or which one was chosen) does not make a second comparison.
// (The demo seed in server/seed/demo.ts hashes prompts and completions the same way.)
import crypto from "node:crypto";

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
}

/** A prompt is either plain text or a conversation. */
export type PromptContent =
  { text: string; messages?: undefined } | { text?: undefined; messages: ChatMessage[] };

export function sha256(s: string): string {
  return crypto.createHash("sha256").update(s).digest("hex");
}

export function canonicalMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.map((m) => ({ role: m.role, content: m.content }));
}

export function promptHash(p: PromptContent): string {
  return p.messages ? sha256(JSON.stringify(canonicalMessages(p.messages))) : sha256(p.text);
}

export function completionHash(text: string): string {
  return sha256(text);
}

export function comparisonHash(
  promptContentHash: string,
  completionContentHashes: readonly string[],
): string {
  return sha256(`${promptContentHash}:${[...completionContentHashes].sort().join(",")}`);
}
