// Types for tools/find-chromium.mjs (imported by the TypeScript tests).
export declare const CHROMIUM_PATHS: readonly string[];
export declare const CHROMIUM_NAMES: readonly string[];
export declare function isExecutable(file: string): boolean;
export declare function findOnPath(name: string, pathEnv: string | undefined): string | undefined;
export declare function findChromium(env?: Readonly<Record<string, string | undefined>>, fixedPaths?: readonly string[]): string | undefined;
