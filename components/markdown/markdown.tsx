"use client";
// Completions, prompts, rationales and instructions render through here: Markdown (GFM, math,
// code highlighting), sanitized. Raw HTML in the source is never rendered (no rehype-raw) and
// the HAST is sanitized GitHub-style before KaTeX and highlight.js add their own trusted markup;
// URLs other than http(s)/mailto are dropped; images are shown as links (no remote loads).
import ReactMarkdown, { defaultUrlTransform, type Components } from "react-markdown";
import remarkGfm from "remark-gfm";
import remarkMath from "remark-math";
import rehypeSanitize, { defaultSchema } from "rehype-sanitize";
import rehypeKatex from "rehype-katex";
import rehypeHighlight from "rehype-highlight";
import type { PluggableList } from "unified";

const schema = {
  ...defaultSchema,
  attributes: {
    ...defaultSchema.attributes,
    // remark-math marks math as <code class="language-math math-inline|math-display">
    code: [["className", /^language-./, "math-inline", "math-display"]],
  },
  protocols: { ...defaultSchema.protocols, href: ["http", "https", "mailto"] },
};

const rehypePlugins: PluggableList = [
  [rehypeSanitize, schema],
  [rehypeKatex, { throwOnError: false, strict: "ignore", trust: false }],
  [rehypeHighlight, { detect: false }],
];
const remarkPlugins: PluggableList = [remarkGfm, remarkMath];

/** Only http(s) and mailto survive; everything else (javascript:, data:, vbscript:...) becomes "". */
export function safeUrl(url: string): string {
  const out = defaultUrlTransform(url);
  if (!out) return "";
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(out.trim());
  if (m && !["http", "https", "mailto"].includes(m[1]!.toLowerCase())) return "";
  return out;
}

const components: Components = {
  a: ({ href, children }) =>
    href ? (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow" className="text-blue-700 underline">
        {children}
      </a>
    ) : (
      <span>{children}</span>
    ),
  img: ({ src, alt }) =>
    typeof src === "string" && src ? (
      <a href={src} target="_blank" rel="noopener noreferrer nofollow" className="text-blue-700 underline">
        [image: {alt || src}]
      </a>
    ) : (
      <span>[image: {alt}]</span>
    ),
};

export function Markdown({
  children,
  className,
  testId,
}: {
  children: string;
  className?: string;
  testId?: string;
}) {
  return (
    <div className={`pw-markdown ${className ?? ""}`} data-testid={testId}>
      <ReactMarkdown
        remarkPlugins={remarkPlugins}
        rehypePlugins={rehypePlugins}
        urlTransform={safeUrl}
        components={components}
        skipHtml
      >
        {children}
      </ReactMarkdown>
    </div>
  );
}
