// Injected into the CommonJS test and bench bundles (bench/gpu/bundle.sh) as `import.meta.url`:
// the bundle's own file URL, so code that finds its files beside itself through import.meta.url
// (quickjs-emscripten's emscripten-module.wasm, for the code sandbox) finds them beside the bundle.
import { pathToFileURL } from "node:url";

export const importMetaUrl: string = pathToFileURL(__filename).href;
