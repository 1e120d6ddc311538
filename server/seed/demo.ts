// The demo a newcomer clicks through on first start: two projects (a pairwise one on the
// built-in mini-R1 arithmetic task, a 3-way ranking one with Markdown, code and math), and one
// account per role. Runs once: only when the database has no users.
import crypto from "node:crypto";
import type { PrismaClient } from "@prisma/client";
import { miniR1, Rng } from "../../trainer/index";
import { hashPassword } from "../auth/password";

export const DEMO_ACCOUNTS = [
  { email: "admin@pairwise.local", name: "Ada Admin", role: "admin", password: "pairwise-admin" },
  { email: "reviewer@pairwise.local", name: "Rey Reviewer", role: "reviewer", password: "pairwise-reviewer" },
  {
    email: "annotator@pairwise.local",
    name: "Ann Annotator",
    role: "annotator",
    password: "pairwise-annotator",
  },
  {
    email: "annotator2@pairwise.local",
    name: "Bo Annotator",
    role: "annotator",
    password: "pairwise-annotator",
  },
] as const;

const sha = (v: unknown) =>
  crypto
    .createHash("sha256")
    .update(typeof v === "string" ? v : JSON.stringify(v))
    .digest("hex");

const RANKING_PROMPTS: Array<{ prompt: string; completions: Array<{ model: string; text: string }> }> = [
  {
    prompt: "Write a Python function that reverses a string.",
    completions: [
      {
        model: "demo-large",
        text: "Use slicing:\n\n```python\ndef reverse(s: str) -> str:\n    return s[::-1]\n```\n\n`s[::-1]` walks the string backwards in one step.",
      },
      {
        model: "demo-medium",
        text: "```python\ndef reverse(s):\n    out = ''\n    for ch in s:\n        out = ch + out\n    return out\n```\nThis builds the result one character at a time (quadratic, but clear).",
      },
      { model: "demo-small", text: "You can reverse a string with `reversed(s)`." },
    ],
  },
  {
    prompt: "What is the derivative of $x^2 \\sin x$?",
    completions: [
      {
        model: "demo-large",
        text: "By the product rule:\n\n$$\\frac{d}{dx}\\left(x^2 \\sin x\\right) = 2x\\sin x + x^2 \\cos x$$",
      },
      { model: "demo-medium", text: "It is $2x \\cos x$." },
      {
        model: "demo-small",
        text: "<think>Product rule: (uv)' = u'v + uv'. u = x^2, v = sin x.</think>\n\nThe derivative is $2x\\sin x + x^2\\cos x$.",
      },
    ],
  },
  {
    prompt: "Give three tips for writing a good commit message.",
    completions: [
      {
        model: "demo-large",
        text: "1. **Summarise in the first line** (50 characters or so).\n2. **Say why**, not only what, in the body.\n3. **One change per commit**, so the message can be precise.",
      },
      {
        model: "demo-medium",
        text: '- Be concise\n- Use the imperative mood ("Fix bug", not "Fixed bug")\n- Reference the issue number',
      },
      { model: "demo-small", text: "Write what you did." },
    ],
  },
];

export async function seedDemo(prisma: PrismaClient, log: (m: string) => void = () => {}): Promise<boolean> {
  if ((await prisma.user.count()) > 0) return false;
  for (const a of DEMO_ACCOUNTS) {
    await prisma.user.create({
      data: { email: a.email, name: a.name, role: a.role, passwordHash: await hashPassword(a.password) },
    });
  }

  // Project 1: mini-R1 arithmetic, pairwise, overlap 2, some gold items with known answers.
  const p1 = await prisma.project.create({
    data: {
      slug: "mini-r1",
      name: "Mini-R1 arithmetic reasoning",
      instructions:
        "Compare two answers to a short arithmetic word problem.\n\n- Prefer the answer whose **final number is correct**.\n- Then prefer clear reasoning inside `<think>…</think>`.\n- Choose **tie** when both are equally good, **both bad** when neither is right.",
      labelSchema: {
        kind: "pairwise",
        strength: true,
        allowTie: true,
        allowBothBad: true,
        axes: [],
        rationale: "optional",
        judgeReasoningSeparately: false,
      },
      overlap: 2,
      goldRatio: 0.1,
      settings: { training: { task: "miniR1" } },
    },
  });
  const problems = miniR1.makeProblems(7, 40, { difficulty: 2 });
  const rng = new Rng(11);
  for (const [i, problem] of problems.entries()) {
    const messages = miniR1.chatPrompt(problem);
    const prompt = await prisma.prompt.create({
      data: {
        projectId: p1.id,
        contentHash: sha(messages),
        messages: messages as unknown as object[],
        metadata: {
          task: "miniR1",
          problem: { id: problem.id, answer: problem.answer, question: problem.question },
        },
        split: i % 10 === 9 ? "validation" : "train",
      },
    });
    const good = miniR1.targetCompletion(problem);
    const bad = miniR1.noisyCompletion(problem, rng);
    const [c1, c2] = await Promise.all(
      [
        { text: good, model: "demo-policy-a" },
        { text: bad, model: "demo-policy-b" },
      ].map((c) =>
        prisma.completion.create({
          data: {
            projectId: p1.id,
            promptId: prompt.id,
            contentHash: sha(c.text),
            text: c.text,
            modelName: c.model,
            samplingParams: { temperature: 0.8 },
          },
        }),
      ),
    );
    const ids = rng.next() < 0.5 ? [c1!.id, c2!.id] : [c2!.id, c1!.id];
    const isGold = i < 4;
    await prisma.comparison.create({
      data: {
        projectId: p1.id,
        promptId: prompt.id,
        completionIds: ids,
        contentHash: sha(ids),
        isGold,
        goldAnswer: isGold
          ? { kind: "pairwise", outcome: "win", winnerId: c1!.id, loserId: c2!.id, strength: 2 }
          : undefined,
        source: "demo",
        createdAt: new Date(Date.now() - (problems.length - i) * 1000),
      },
    });
  }

  // Project 2: 3-way ranking with ties and partial rankings allowed, axes for two qualities.
  const p2 = await prisma.project.create({
    data: {
      slug: "helpfulness-ranking",
      name: "Helpfulness ranking (3-way)",
      instructions:
        "Rank the three answers from **most** to **least** helpful. Equal answers may share a rank.",
      labelSchema: {
        kind: "ranking",
        allowTies: true,
        allowPartial: true,
        axes: [
          { key: "correctness", label: "Correctness", min: 1, max: 5 },
          { key: "clarity", label: "Clarity", min: 1, max: 5 },
        ],
        rationale: "optional",
      },
      overlap: 1,
    },
  });
  for (const item of RANKING_PROMPTS) {
    const prompt = await prisma.prompt.create({
      data: { projectId: p2.id, contentHash: sha(item.prompt), text: item.prompt },
    });
    const comps = [];
    for (const c of item.completions) {
      comps.push(
        await prisma.completion.create({
          data: {
            projectId: p2.id,
            promptId: prompt.id,
            contentHash: sha(c.text),
            text: c.text,
            modelName: c.model,
          },
        }),
      );
    }
    const ids = comps.map((c) => c.id);
    await prisma.comparison.create({
      data: {
        projectId: p2.id,
        promptId: prompt.id,
        completionIds: ids,
        contentHash: sha(ids),
        source: "demo",
      },
    });
  }
  // The demo's reviewer and annotators work on both demo projects (admins need no membership).
  const people = await prisma.user.findMany({
    where: { role: { not: "admin" } },
    select: { id: true, role: true },
  });
  await prisma.projectMember.createMany({
    data: [p1, p2].flatMap((p) => people.map((u) => ({ projectId: p.id, userId: u.id, role: u.role }))),
  });
  log(
    `seeded the demo: projects "${p1.name}" (${problems.length} comparisons) and "${p2.name}" (${RANKING_PROMPTS.length}), ${DEMO_ACCOUNTS.length} accounts`,
  );
  return true;
}
