import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the monorepo root (this file lives in packages/testkit/src). */
export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Absolute path of the workspace's tsx binary, for starting apps from their TypeScript sources. */
export const tsxBin: string = join(repoRoot, 'node_modules', '.bin', 'tsx');
