/**
 * Renders the previous release's stacks (maint/releases.json: the commit each version was built
 * from) and keeps what they registered in tests/fixtures/upgrade/<version>.json, for
 * tests/upgrade.test.ts, which renders this tree with the same stack files and lists every URN
 * change. A checked-in fixture rather than a render at test time: CI's checkout is shallow (the
 * release's commit is not there), and the old tree would need its own node_modules.
 *
 *   npm run gen:upgrade-fixture              # the latest release in maint/releases.json
 *
 * The release's own program and stack files (`git archive <commit>`), run under this tree's mock
 * runtime with this tree's node_modules (the SDK versions may be newer than the release pinned:
 * what the engine would see of the release's code with today's providers).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runProgram, withoutStackTraces, type CapturedResource } from "../cli/lib/mockRuntime";
import { loadStackConfig } from "../cli/lib/stackConfig";

const REPO = path.resolve(__dirname, "..");

/** One release of maint/releases.json. */
export interface Release {
    readonly version: string;
    readonly commit: string;
    readonly date: string;
}

/** A previous release's render of one stack. */
export interface RenderedStack {
    /** The release's stack file, verbatim: the upgrade test renders this tree with it. */
    readonly stackFile: string;
    readonly resources: CapturedResource[];
}

/** The fixture of a release. */
export interface UpgradeFixture {
    readonly version: string;
    readonly commit: string;
    readonly stacks: Record<string, RenderedStack>;
}

/** The stacks an upgrade is checked on. */
export const UPGRADE_STACKS = ["staging", "production"] as const;

/** The releases, oldest first. */
export function releases(): Release[] {
    return (JSON.parse(readFileSync(path.join(REPO, "maint", "releases.json"), "utf8")) as { releases: Release[] }).releases;
}

/** Where the fixture of `version` lives. */
export function fixtureFile(version: string): string {
    return path.join(REPO, "tests", "fixtures", "upgrade", `${version}.json`);
}

/** Renders the release's stacks from its commit. */
export async function renderRelease(release: Release): Promise<UpgradeFixture> {
    const dir = mkdtempSync(path.join(tmpdir(), `django-platform-${release.version}-`));
    try {
        const archive = execFileSync("git", ["archive", "--format=tar", release.commit], { cwd: REPO, maxBuffer: 512 * 1024 * 1024 });
        execFileSync("tar", ["-x", "-C", dir], { input: archive });
        symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
        const stacks: Record<string, RenderedStack> = {};
        for (const name of UPGRADE_STACKS) {
            const stack = loadStackConfig({ stack: name, projectDir: dir });
            const capture = await withoutStackTraces(() => runProgram({ project: stack.project, stack: stack.stack, config: stack.config, secretKeys: stack.secretKeys, program: path.join(dir, "index.ts") }));
            stacks[name] = { stackFile: readFileSync(stack.stackFile, "utf8"), resources: capture.resources };
        }
        return { version: release.version, commit: release.commit, stacks };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

if (require.main === module) {
    const all = releases();
    const release = all[all.length - 1];
    renderRelease(release).then(
        (fixture) => {
            mkdirSync(path.dirname(fixtureFile(release.version)), { recursive: true });
            writeFileSync(fixtureFile(release.version), `${JSON.stringify(fixture)}\n`);
            console.log(`${path.relative(process.cwd(), fixtureFile(release.version))}: ${Object.entries(fixture.stacks).map(([s, r]) => `${s} ${r.resources.length} resources`).join(", ")}`);
        },
        (err: unknown) => {
            console.error(err);
            process.exitCode = 1;
        },
    );
}
