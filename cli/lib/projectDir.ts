/**
 * The Pulumi project the commands work on. In this repository that is its root (the reference
 * consumer: `index.ts`, `Pulumi.yaml`, `Pulumi.<stack>.yaml`); run through the package's bin
 * (`django-platform synth …`) it is the consumer's project, the nearest directory at or above the
 * working directory that holds a `Pulumi.yaml`, which the bin passes in {@link PROJECT_DIR_ENV}.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";

/** The environment variable the bin sets to the consumer's project directory. */
export const PROJECT_DIR_ENV = "DJANGO_PLATFORM_PROJECT_DIR";

/** The project directory: {@link PROJECT_DIR_ENV} when set, else this repository's root. */
export const PROJECT_DIR = process.env[PROJECT_DIR_ENV] ? path.resolve(process.env[PROJECT_DIR_ENV] as string) : path.resolve(__dirname, "..", "..");

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
