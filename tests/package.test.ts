/**
 * The packages as a consumer gets them (issue 23, "Done when"): both packages built and packed
 * (`npm pack`), a project made from templates/django-platform in a temporary directory outside
 * the repository (what `pulumi new` does: the files copied, `${PROJECT}` and `${DESCRIPTION}`
 * replaced), the tarballs installed there with npm from its cache, then, from the consumer's
 * directory with nothing of the repository on the module path: its program type-checked against
 * the package's declarations, synthesised offline by the installed bin, the installed policy pack
 * run on the export, the cost commands and --help. A loader hook records every module file the
 * bin loads: none may be inside the repository.
 *
 * Cost, measured on two shared cores: about 35 s to build and pack the two packages (two tsc
 * runs), 11 s for npm to install them with the consumer's other dependencies from its cache, 15 s
 * for the commands: 60 to 70 s of wall time in all (its weight in maint/test.sh), up to four
 * minutes when the machine is loaded.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildPackages, packDirectory } from "../maint/build-packages";

const REPO = join(__dirname, "..");
const TEMPLATE = join(REPO, "templates", "django-platform");
const work = mkdtempSync(join(tmpdir(), "django-platform-package-"));
const consumer = join(work, "shop");
const trace = join(work, "loaded.txt");
let tarballs: { component: string; policy: string };

/** Files of the template, recursively (relative paths). */
function filesOf(dir: string, base = dir): string[] {
    return readdirSync(dir).flatMap((name) => {
        const full = join(dir, name);
        return statSync(full).isDirectory() ? filesOf(full, base) : [relative(base, full)];
    });
}

/** The environment of a consumer's shell: no NODE_PATH, no loader options, no repository paths. */
function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
        if (!["NODE_PATH", "NODE_OPTIONS", "TSX_TSCONFIG_PATH", "DJANGO_PLATFORM_PROJECT_DIR"].includes(key) && !key.startsWith("npm_")) {
            env[key] = value;
        }
    }
    env.PATH = (env.PATH ?? "").split(":").filter((p) => !p.startsWith(REPO)).join(":");
    return { ...env, ...extra };
}

/** What a run of the bin printed, and its exit code. */
interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs the consumer's installed bin from `cwd` (the consumer's directory), recording the module files it loads. */
function bin(args: string[], cwd = consumer): Promise<Run> {
    return new Promise((resolve) => {
        execFile(process.execPath, ["--require", join(work, "trace.cjs"), join(consumer, "node_modules", ".bin", "django-platform"), ...args], { cwd, env: consumerEnv(), encoding: "utf8", timeout: 180_000 }, (err, stdout, stderr) => {
            resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
        });
    });
}

before(() => {
    // 1. Build and pack both packages.
    const built = buildPackages(join(work, "build"));
    tarballs = { component: packDirectory(built.component, join(work, "tarballs")), policy: packDirectory(built.policy, join(work, "tarballs")) };
    // 2. A project from the template, as `pulumi new` makes it.
    for (const file of filesOf(TEMPLATE)) {
        const text = readFileSync(join(TEMPLATE, file), "utf8").replaceAll("${PROJECT}", "shop").replaceAll("${DESCRIPTION}", "The shop's Django site");
        cpSync(join(TEMPLATE, file), join(consumer, file));
        writeFileSync(join(consumer, file), text);
    }
    // 3. The packed tarballs instead of the registry's versions, the rest from npm's cache.
    const manifest = JSON.parse(readFileSync(join(consumer, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    manifest.dependencies["django-platform"] = `file:${tarballs.component}`;
    manifest.dependencies["django-platform-policy"] = `file:${tarballs.policy}`;
    writeFileSync(join(consumer, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    const install = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: consumer, env: consumerEnv(), encoding: "utf8", timeout: 240_000 });
    assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
    writeFileSync(
        join(work, "trace.cjs"),
        `const fs = require("node:fs"); process.on("exit", () => fs.appendFileSync(${JSON.stringify(trace)}, Object.keys(require.cache).join("\\n") + "\\n"));\n`,
    );
});

after(() => rmSync(work, { recursive: true, force: true }));

describe("a consumer project made from the template, with the packed packages", () => {
    test("is outside the repository and installs the two packages as compiled JavaScript only", () => {
        assert.ok(relative(REPO, consumer).startsWith(".."), `${consumer} is inside the repository`);
        const pkg = join(consumer, "node_modules", "django-platform");
        const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as Record<string, Record<string, string>>;
        assert.equal(manifest.bin["django-platform"], "cli/bin.js");
        assert.deepEqual(Object.keys(manifest.peerDependencies).sort(), ["@pulumi/gcp", "@pulumi/kubernetes", "@pulumi/pulumi", "@pulumi/random", "typescript"]);
        for (const dev of ["tsx", "@types/node", "@action-validator/core"]) {
            assert.ok(!(dev in manifest.dependencies), `${dev} must not be a dependency of the package`);
        }
        const shipped = filesOf(pkg);
        assert.deepEqual(shipped.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), [], "TypeScript sources in the package");
        assert.ok(shipped.includes("api.d.ts") && shipped.includes("cli/bin.js") && shipped.includes("CHANGELOG.md"));
        assert.deepEqual(shipped.filter((f) => /^(tests|maint|app|docs|policy)\//.test(f)), [], "the test harness or maintainers' tools in the package");
        assert.ok(existsSync(join(consumer, "node_modules", "django-platform-policy", "PulumiPolicy.yaml")), "the policy pack's PulumiPolicy.yaml (pulumi preview --policy-pack node_modules/django-platform-policy)");
        // One Pulumi SDK for the program and the component: the peers resolve to the consumer's.
        assert.ok(!existsSync(join(pkg, "node_modules", "@pulumi")), "a second @pulumi/* copy under the package");
    });

    test("its program type-checks against the package's declarations", () => {
        const tsc = spawnSync(process.execPath, [join(consumer, "node_modules", "typescript", "bin", "tsc"), "-p", "."], { cwd: consumer, env: consumerEnv(), encoding: "utf8" });
        assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    });

    test("its bin synthesises staging offline, from the consumer's Pulumi.yaml, stack file and program", async () => {
        const r = await bin(["synth", "--stack", "staging", "--out", "out/staging"]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /OK: no schema errors, no mandatory policy violations/);
        const exported = JSON.parse(readFileSync(join(consumer, "out", "staging", "stack-export.json"), "utf8")) as { deployment: { resources: { urn: string }[] } };
        const urns = exported.deployment.resources.map((r) => r.urn);
        assert.ok(urns.includes("urn:pulumi:staging::shop::django-platform:index:DjangoPlatform::django"), "the consumer's project name in the URNs");
        assert.ok(urns.some((u) => u.endsWith("gcp:sql/databaseInstance:DatabaseInstance::django-database-instance")));
        const report = JSON.parse(readFileSync(join(consumer, "out", "staging", "report.json"), "utf8")) as { stackOutputs: Record<string, unknown> };
        assert.equal(report.stackOutputs.url, "https://staging.example.com/");
    });

    test("the installed policy pack checks the export, and a mandatory violation fails it", async () => {
        const file = join(consumer, "out", "staging", "stack-export.json");
        const doc = JSON.parse(readFileSync(file, "utf8")) as { deployment: { resources: { type: string; inputs: Record<string, unknown> }[] } };
        const instance = doc.deployment.resources.find((r) => r.type === "gcp:sql/databaseInstance:DatabaseInstance");
        assert.ok(instance);
        (instance.inputs.settings as { ipConfiguration: Record<string, unknown> }).ipConfiguration.ipv4Enabled = true;
        writeFileSync(join(consumer, "out", "bad-export.json"), JSON.stringify(doc));
        const [ok, bad] = await Promise.all([bin(["policy", "out/staging/stack-export.json"]), bin(["policy", "out/bad-export.json"])]);
        assert.equal(ok.status, 0, ok.stdout + ok.stderr);
        assert.equal(bad.status, 1, bad.stdout + bad.stderr);
        assert.match(bad.stdout, /^MANDATORY +sql-instance-disables-public-ip$/m);
    });

    test("cost: a stack's estimate from its report, and the change against a fresh synth of another stack", async () => {
        const change = await bin(["cost", "out/staging/report.json", "--stack", "production"]);
        assert.equal(change.status, 0, change.stderr);
        assert.match(change.stdout, /^Monthly cost change against out\/staging\/report\.json \(USD\): idle \+\$/);
        assert.match(change.stdout, /^ {2}database +idle +\+\$/m, "production's database costs more than staging's");
        const bad = await bin(["cost", "out/no-such-report.json", "out/staging/report.json"]);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /^cost: out\/no-such-report\.json: cannot read a synth report\.json/);
    });

    test("--help, --version, every command's --help, and a clear error outside a project", async () => {
        const commands = ["synth", "policy", "cost", "preflight", "manage", "release", "local"];
        const [help, version, outside, ...helps] = await Promise.all([
            bin(["--help"]),
            bin(["--version"]),
            bin(["synth", "--stack", "staging"], work),
            ...commands.map((command) => bin([command, "--help"])),
        ]);
        assert.equal(help.status, 0);
        commands.forEach((command, i) => {
            assert.match(help.stdout, new RegExp(`^  ${command} `, "m"));
            assert.equal(helps[i].status, 0, `${command} --help: ${helps[i].stderr}`);
            assert.match(helps[i].stdout, /Usage:/, command);
        });
        assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version);
        assert.equal(outside.status, 2);
        assert.match(outside.stderr, /no Pulumi\.yaml in/);
    });

    test("no module the bin loaded came from the repository", () => {
        const loaded = [...new Set(readFileSync(trace, "utf8").split("\n").filter(Boolean))];
        assert.ok(loaded.some((f) => f.startsWith(join(consumer, "node_modules", "django-platform-policy"))), "the policy pack was loaded from the installed package");
        assert.ok(loaded.some((f) => f === join(consumer, "index.ts")), "the consumer's own program was run");
        assert.deepEqual(loaded.filter((f) => f.startsWith(`${REPO}/`)), []);
    });
});
