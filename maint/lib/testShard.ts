/**
 * One shard of `npm test` (maint/test.sh): runs the given test files in this one process, each as
 * a suite named after its path, instead of node's one process per file.
 *
 *   node --import tsx --test-reporter=spec maint/lib/testShard.ts tests/a.test.ts tests/b.test.ts
 *
 * Why: every test process pays for loading TypeScript and the Pulumi SDKs (about 1 to 3 s of CPU),
 * which over ~50 files was half of the suite's CPU time on two cores. Each file is required inside
 * its own `describe`, synchronously, so its top-level `before`/`after` hooks and tests belong to
 * that suite (node:test attaches them to the suite being built) and run in file order, one file at
 * a time, as under `node --test`. A file that fails to load fails its suite, not the shard.
 */
import { describe, it } from "node:test";
import * as path from "node:path";

const files = process.argv.slice(2);
if (files.length === 0) {
    process.stderr.write("usage: testShard.ts <test file>…\n");
    process.exit(2);
}

for (const file of files) {
    const absolute = path.resolve(file);
    describe(path.relative(process.cwd(), absolute), () => {
        try {
            require(absolute);
        } catch (err) {
            it("loads", () => {
                throw err;
            });
        }
    });
}
