// Splits a completion into its reasoning trace (<think>...</think>, as R1-style models emit it)
// and its final answer. An unclosed <think> means the model never finished thinking: all of it
// is reasoning and the answer is empty.
export interface ReasoningSplit {
  reasoning: string | null;
  answer: string;
}

export function splitReasoning(text: string): ReasoningSplit {
  const open = /<think>/i.exec(text);
  if (!open) return { reasoning: null, answer: text };
  const before = text.slice(0, open.index);
  const rest = text.slice(open.index + open[0].length);
  const close = /<\/think>/i.exec(rest);
  if (!close) return { reasoning: rest.trim(), answer: before.trim() };
  const reasoning = rest.slice(0, close.index).trim();
  const answer = (before + rest.slice(close.index + close[0].length)).trim();
  return { reasoning, answer };
}
