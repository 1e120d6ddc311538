// ESLint: typescript-eslint (type-aware where it matters), React hooks, Next's rules, and the
// project's own rule that only server/env.ts reads the environment. Formatting is Prettier's job.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import nextPlugin from "@next/eslint-plugin-next";
import prettier from "eslint-config-prettier";
import globals from "globals";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      ".next/**",
      ".data/**",
      ".pairwise/**",
      ".device/**",
      "dist/**",
      "generated/**",
      "bench/results/**",
      "tests/artifacts/**",
      "next-env.d.ts",
      "**/*.cjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Read configuration through server/env.ts." },
      ],
    },
  },
  {
    files: ["app/**/*.{ts,tsx}", "components/**/*.{ts,tsx}"],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { "react-hooks": reactHooks, "@next/next": nextPlugin },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...nextPlugin.configs.recommended.rules,
      ...nextPlugin.configs["core-web-vitals"].rules,
    },
  },
  {
    // The environment module itself; build and tooling scripts, benchmarks and tests (they set up
    // the processes under test); the trainer library (a bundle of its own on GPU boxes, which takes
    // its few switches, e.g. PAIRWISE_TF_BACKEND, from the process that embeds it).
    files: ["server/env.ts", "scripts/**", "bin/**", "*.config.*", "bench/**", "trainer/**", "tests/**"],
    rules: { "no-restricted-properties": "off" },
  },
  prettier,
);
