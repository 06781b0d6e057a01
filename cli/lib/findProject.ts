/**
 * Where the bin finds the consumer's project, without reading it yet: the commands' modules read
 * {@link PROJECT_DIR_ENV} when they load (cli/lib/projectDir.ts), so the bin sets it first.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";

/** The environment variable the bin sets to the consumer's project directory. */
export const PROJECT_DIR_ENV = "DJANGO_PLATFORM_PROJECT_DIR";

/** The nearest directory at or above `from` holding a `Pulumi.yaml`, or `undefined`. */
export function findProjectDir(from: string): string | undefined {
    let dir = path.resolve(from);
    for (;;) {
        if (existsSync(path.join(dir, "Pulumi.yaml"))) {
            return dir;
        }
        const parent = path.dirname(dir);
        if (parent === dir) {
            return undefined;
        }
        dir = parent;
    }
}
