/**
 * What a consumer project of the package relies on, without packing anything (tests/package.test.ts
 * does that): its own config namespace, the template's `pulumi new` shape, the TypeScript loader of
 * the bin, and the aliases the mock runtime records for the upgrade test.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { PROJECT, platformNamespace, validateConfig } from "../config";
import { runProgram } from "../cli/lib/mockRuntime";
import { loadStackConfig } from "../cli/lib/stackConfig";

const REPO = join(__dirname, "..");
const TEMPLATE = join(REPO, "templates", "django-platform");

describe("a consumer project's own config namespace", () => {
    // `pulumi config set --path workload.spot false` in a project named `shop` writes `shop:workload`
    // (https://www.pulumi.com/docs/iac/concepts/config/, "Configuration keys": the namespace
    // defaults to the project's name).
    test("its keys read as django-platform's, provider keys stay, and a key set in both namespaces stays wrong", () => {
        const mapped = platformNamespace({ "shop:domain": "a.example.com", "gcp:project": "p", "shop:image": "x", "django-platform:image": "y" }, "shop");
        assert.deepEqual(mapped, { "django-platform:domain": "a.example.com", "gcp:project": "p", "shop:image": "x", "django-platform:image": "y" });
        assert.deepEqual(platformNamespace({ "django-platform:domain": "a" }, PROJECT), { "django-platform:domain": "a" });
        const stack = loadStackConfig({ stack: "staging", projectDir: REPO });
        const shop = Object.fromEntries(Object.entries(stack.config).map(([k, v]) => [k.replace(/^django-platform:/, "shop:"), v]));
        assert.doesNotThrow(() => validateConfig(platformNamespace(shop, "shop"), "staging"));
        assert.throws(() => validateConfig(platformNamespace({ ...shop, "django-platform:image": stack.config["django-platform:image"] }, "shop"), "staging"), /shop:image: "shop" is not this project's namespace/);
    });

    test("the program of a project named shop runs with shop: keys, encrypted appSecrets recognised under that namespace", async () => {
        const stack = loadStackConfig({ stack: "staging", projectDir: REPO });
        const config = Object.fromEntries(Object.entries(stack.config).map(([k, v]) => [k.replace(/^django-platform:/, "shop:"), v]));
        config["shop:appSecrets"] = JSON.stringify({ SENTRY_DSN: "https://key@sentry.example.com/1" });
        const capture = await runProgram({ project: "shop", stack: "staging", config, secretKeys: ["shop:appSecrets", "shop:appSecrets.SENTRY_DSN"], program: join(REPO, "index.ts") });
        assert.ok(capture.resources.some((r) => r.urn === "urn:pulumi:staging::shop::django-platform:index:DjangoPlatform::django"));
        // The same value in plain text is refused, naming the key (config.ts plaintextSecretProblems).
        await assert.rejects(
            runProgram({ project: "shop", stack: "staging", config, secretKeys: [], program: join(REPO, "index.ts") }),
            /appSecrets\.SENTRY_DSN: is stored in plain text/,
        );
    });
});

describe("templates/django-platform", () => {
    const project = parse(readFileSync(join(TEMPLATE, "Pulumi.yaml"), "utf8")) as { name: string; main: string; runtime: { name: string }; template: { config: Record<string, { description: string; default?: string }> } };

    // A `pulumi new` template is a directory whose Pulumi.yaml has a `template` section with config
    // prompts; `${PROJECT}` and `${DESCRIPTION}` are replaced in its files
    // (https://www.pulumi.com/docs/iac/guides/building-extending/creating-templates/).
    test("is a pulumi new template that prompts for the stack's required keys", () => {
        assert.equal(project.name, "${PROJECT}");
        assert.equal(project.runtime.name, "nodejs");
        assert.deepEqual(Object.keys(project.template.config).sort(), ["domain", "gcp:project", "gcp:region", "image"]);
        for (const [key, prompt] of Object.entries(project.template.config)) {
            assert.ok(prompt.description.length > 10, `${key} has a prompt`);
        }
    });

    test("its stack files keep the platform's keys in the project's namespace, and its program takes only the package", () => {
        for (const stack of ["staging", "production"]) {
            const doc = parse(readFileSync(join(TEMPLATE, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
            const namespaces = new Set(Object.keys(doc.config).map((k) => k.split(":")[0]));
            assert.deepEqual([...namespaces].sort(), ["${PROJECT}", "gcp"], stack);
        }
        const program = readFileSync(join(TEMPLATE, "index.ts"), "utf8");
        assert.deepEqual([...program.matchAll(/from "([^"]+)"/g)].map((m) => m[1]), ["django-platform"]);
        assert.ok(program.split("\n").length < 25, "a few lines");
    });

    test("its package.json takes the released packages and the Pulumi SDKs the component expects as peers", () => {
        const manifest = JSON.parse(readFileSync(join(TEMPLATE, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
        const root = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
        assert.equal(manifest.dependencies["django-platform"], `^${root.version}`);
        assert.equal(manifest.dependencies["django-platform-policy"], `^${root.version}`);
        for (const sdk of ["@pulumi/pulumi", "@pulumi/gcp", "@pulumi/kubernetes", "@pulumi/random"]) {
            assert.equal(manifest.dependencies[sdk], root.dependencies[sdk], sdk);
        }
        // @pulumi/pulumi runs a TypeScript program with the project's own typescript (an optional
        // peer of the SDK), and so does the bin (cli/bin.ts registerTypeScript).
        const sdk = JSON.parse(readFileSync(require.resolve("@pulumi/pulumi/package.json"), "utf8")) as { peerDependenciesMeta: Record<string, { optional: boolean }> };
        assert.equal(sdk.peerDependenciesMeta.typescript.optional, true);
        assert.ok(manifest.devDependencies.typescript, "the template installs typescript");
    });

    test("its workflows run the package's bin and policy pack, not this repository's scripts", () => {
        const pr = readFileSync(join(TEMPLATE, ".github", "workflows", "pr.yml"), "utf8");
        const deploy = readFileSync(join(TEMPLATE, ".github", "workflows", "deploy.yml"), "utf8");
        for (const text of [pr, deploy]) {
            assert.doesNotMatch(text, /npx tsx |npm run (synth|preflight|release)|maint\/|cli\//);
        }
        assert.match(pr, /--policy-pack node_modules\/django-platform-policy/);
        assert.match(deploy, /npx django-platform release --stack production/);
    });
});

describe("aliases in the mock runtime", () => {
    // The SDK sends an alias as a spec whose unset fields are the resource's own
    // (@pulumi/pulumi runtime/resource.js mapAliasesForRequest); the engine resolves it to a URN.
    test("a renamed resource's alias is recorded as the URN it had", async () => {
        const capture = await runProgram({
            project: "p",
            stack: "s",
            config: {},
            program: () => {
                const parent = new pulumi.ComponentResource("x:index:Parent", "parent");
                class Thing extends pulumi.CustomResource {
                    constructor(name: string, opts: pulumi.CustomResourceOptions) {
                        super("x:index:Thing", name, {}, opts);
                    }
                }
                new Thing("new-name", { parent, aliases: [{ name: "old-name" }] });
            },
        });
        const thing = capture.resources.find((r) => r.name === "new-name");
        assert.deepEqual(thing?.aliases, ["urn:pulumi:s::p::x:index:Parent$x:index:Thing::old-name"]);
    });
});

describe("django-platform cost", () => {
    const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
        const { main } = await import("../cli/cost");
        let out = "";
        let err = "";
        const code = await main(["node", "cost", ...args], { stdout: (t) => (out += `${t}\n`), stderr: (t) => (err += `${t}\n`) });
        return { code, out, err };
    };

    test("a stack's estimate is synth's, and the comparison of a report with itself changes nothing", async () => {
        const estimate = await run(["--stack", "staging", "--json"]);
        assert.equal(estimate.code, 0, estimate.err);
        const doc = JSON.parse(estimate.out) as { stack: string; cost: { idle: number; peak: number } };
        assert.equal(doc.stack, "staging");
        assert.ok(doc.cost.idle > 0 && doc.cost.peak >= doc.cost.idle);
        const report = join(mkdtempSync(join(tmpdir(), "cost-cli-")), "report.json");
        writeFileSync(report, estimate.out);
        const same = await run([report, report]);
        assert.equal(same.code, 0, same.err);
        assert.match(same.out, /idle \$0\.00 .* peak \$0\.00 /);
        assert.match(same.out, /No component changed\./);
        rmSync(dirname(report), { recursive: true, force: true });
    });

    test("usage errors: nothing to price, three reports, two reports and a stack", async () => {
        for (const args of [[], ["a.json", "b.json", "c.json"], ["a.json", "b.json", "--stack", "staging"]]) {
            const r = await run(args);
            assert.equal(r.code, 2, args.join(" "));
            assert.match(r.err, /^cost: pass --stack <name>/);
        }
    });
});
