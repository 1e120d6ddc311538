// vitest runs server modules outside Next.js; "server-only" guards only the client bundle.
export {};
