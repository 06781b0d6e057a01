/**
 * The commands in README.md, docs/bootstrap.md, docs/release.md, docs/operations.md and
 * docs/dns-cutover.md, docs/transitions.md, exercised
 * offline where they can be: every `npm run`/`npm test` script is in package.json, every file run
 * with `npx tsx` or `bash` exists, every stack named (`--stack`, `-s`, `pulumi stack init|select|rm`)
 * has its Pulumi.<stack>.yaml, every release invocation (`cli/release.ts`, `npm run release --`)
 * plans a valid release, every `pulumi config set|get` names a real config key (and a valid value
 * where the docs give one), and every `pulumi stack output` names an output the program exports.
 * A made-up snippet shows that each check fails when it should.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { bootstrapSchema } from "../bootstrap/config";
import { iamSchema } from "../iam/config";
import { parse } from "yaml";
import { ConfigError, configSchema, validateConfig } from "../config";
import { loadStackConfig } from "../cli/lib/stackConfig";
import { applyConfigCommand, parseConfigCommand, parsePropertyPath, storedValue } from "./lib/pulumiConfigCli";
import { parseReleaseArgs, planRelease } from "../cli/release";

const ROOT = join(__dirname, "..");
/** The files checked, relative to the repository root. */
const DOCS = ["README.md", "docs/bootstrap.md", "docs/release.md", "docs/operations.md", "docs/dns-cutover.md", "docs/transitions.md", "docs/trust-migration.md"];
const IMAGE_REPOSITORY = "europe-west1-docker.pkg.dev/acme-django-ci/django/app";
const DIGEST_REF = `europe-west1-docker.pkg.dev/acme-django-ci/django/app@sha256:${"ab".repeat(32)}`;

/**
 * Shell commands of a markdown file: lines of fenced blocks (continued lines joined) and inline
 * code spans, split at `&&`, without comments.
 */
function commandsOf(markdown: string): string[] {
    const fenced = [...markdown.matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)].flatMap((m) => m[1].replace(/\s*\\\n\s*/g, " ").split("\n"));
    const withoutFences = markdown.replace(/```[\s\S]*?```/g, "");
    const inline = [...withoutFences.matchAll(/`([^`\n]+)`/g)].map((m) => m[1].replace(/\\\|/g, "|"));
    return [...fenced, ...inline]
        .flatMap((c) => c.replace(/\s+#.*$/, "").split(/\s+&&\s+/))
        .map((c) => c.trim())
        .filter((c) => /^(npx|npm|bash|pulumi|kubectl|gcloud|docker|gh|pg_dump|mkdir|rm|curl|export|cd)\b/.test(c));
}

/**
 * Splits a command line into words, after replacing command substitutions: `$(openssl rand -hex N)`
 * by N random-looking bytes in hex (what it prints), any other by a digest reference.
 */
function words(command: string): string[] {
    const substituted = command.replace(/\$\(openssl rand -hex (\d+)\)/g, (_, n: string) => "5e".repeat(Number(n))).replace(/"\$\((?:[^()]|\([^()]*\))*\)"|\$\((?:[^()]|\([^()]*\))*\)|"\$IMAGE"/g, DIGEST_REF);
    return [...substituted.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** The zod schema at a `--path` such as `workload.maxReplicas`, `appSecrets.X` or `registryReaders[0]`. */
function schemaAt(root: z.ZodType, path: string): z.ZodType | undefined {
    let schema: z.ZodType | undefined = root;
    for (const part of path.replace(/\[(\d+)\]/g, ".$1").split(".")) {
        schema = unwrap(schema);
        if (schema instanceof z.ZodObject) {
            schema = schema.shape[part] as z.ZodType | undefined;
        } else if (schema instanceof z.ZodRecord) {
            schema = schema.def.valueType as z.ZodType;
        } else if (schema instanceof z.ZodArray && /^\d+$/.test(part)) {
            schema = schema.def.element as z.ZodType;
        } else {
            return undefined;
        }
    }
    return schema;
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
    let s = schema;
    for (let i = 0; i < 6 && s && !(s instanceof z.ZodObject || s instanceof z.ZodRecord || s instanceof z.ZodArray); i++) {
        const def = (s as { def: { innerType?: z.ZodType; in?: z.ZodType } }).def;
        s = def.innerType ?? def.in;
    }
    return s;
}

/** `export const <name>` of a program's entry file. */
function outputsOf(file: string): Set<string> {
    return new Set([...readFileSync(join(ROOT, file), "utf8").matchAll(/^export const (\w+)/gm)].map((m) => m[1]));
}

/** What a file's commands may refer to. */
interface Targets {
    readonly scripts: Readonly<Record<string, string>>;
    readonly schema: z.ZodType;
    readonly outputs: ReadonlySet<string>;
    readonly outputsFile: string;
    /** Stack names that need no Pulumi.<stack>.yaml in the repository (created by the commands themselves). */
    readonly extraStacks: ReadonlySet<string>;
}

function targetsOf(doc: string, dir?: string): Targets {
    // `pulumi -C <dir>` runs the Pulumi project in <dir>: the bootstrap or the IAM step.
    const project = dir ?? (doc === "docs/bootstrap.md" ? "bootstrap" : "");
    const file = project ? `${project}/index.ts` : "index.ts";
    return {
        scripts: (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts,
        schema: project === "bootstrap" ? bootstrapSchema : project === "iam" ? iamSchema : configSchema,
        outputs: outputsOf(file),
        outputsFile: file,
        // Stacks the docs' own commands create: the bootstrap's (`bootstrap`, and `ci` beside an old one).
        extraStacks: new Set(project === "bootstrap" ? ["bootstrap", "ci"] : []),
    };
}

/** A placeholder (`<stack>`, `…`) or a shell variable, which cannot be checked offline. */
const unresolved = (word: string) => /^<.*>$|\$|…/.test(word);

/** The arguments a command passes to cli/release.ts, or undefined when it does not run it. */
function releaseArgs(command: string): string[] | undefined {
    const w = words(command);
    const script = w.indexOf("cli/release.ts");
    const npm = w.findIndex((x, i) => x === "release" && w[i - 1] === "run" && w[i - 2] === "npm");
    if (script < 0 && npm < 0) {
        return undefined;
    }
    const rest = script >= 0 ? w.slice(script + 1) : w.slice(npm + 1);
    return (rest[0] === "--" ? rest.slice(1) : rest).map((x, i, all) => {
        if (all[i - 1] === "--repository" && unresolved(x)) {
            return IMAGE_REPOSITORY;
        }
        return all[i - 1] === "--context" && unresolved(x) ? "app" : x;
    });
}

const scratch = mkdtempSync(join(tmpdir(), "runbooks-config-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Applies a documented `pulumi config set` to a copy of the stack file it names, as the Pulumi CLI
 * writes it (tests/lib/pulumiConfigCli.ts: `--path` keeps JSON and non-integer numbers as strings),
 * reads the file back as synth does and validates it: the problems at that key, if any.
 */
function afterConfigSet(w: string[], stack: string, key: string): string[] {
    const doc = parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as Record<string, unknown>;
    applyConfigCommand(doc, parseConfigCommand(w), "django-platform");
    const file = join(scratch, `Pulumi.${stack}.yaml`);
    writeFileSync(file, JSON.stringify(doc));
    const loaded = loadStackConfig({ configFile: file, projectDir: ROOT });
    try {
        validateConfig(loaded.config, basename(file).split(".")[1]);
        return [];
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const top = String(parsePropertyPath(key)[0]);
        return err.problems.filter((p) => p.startsWith(`django-platform:${key.replace(/'/g, "")}`) || p.startsWith(`django-platform:${top}:`));
    }
}

/** For the other projects (bootstrap, IAM): the value the CLI stores at the key, checked against the field. */
function cliValueProblems(w: string[], field: z.ZodType): string[] {
    const command = parseConfigCommand(w);
    const stored = storedValue(command.value as string, command.secret, command.path, command.type);
    return field.safeParse(stored).success ? [] : [`${JSON.stringify(stored)} is not a valid value`];
}

/** Every problem with the commands of one markdown file; empty when all of them check out. */
function problemsOf(doc: string, markdown: string, fileTargets: Targets = targetsOf(doc)): string[] {
    const problems: string[] = [];
    const commands = commandsOf(markdown);
    for (const original of commands) {
        const problem = (what: string) => problems.push(`${doc}: \`${original}\` ${what}`);
        // `pulumi -C <dir> …` is `pulumi …` in <dir>: checked against that project.
        const cwd = /^pulumi -C (\S+) /.exec(original);
        const command = cwd ? original.replace(/^pulumi -C \S+ /, "pulumi ") : original;
        const targets = cwd ? targetsOf(doc, cwd[1]) : fileTargets;
        const projectDir = cwd ? join(ROOT, cwd[1]) : ROOT;
        if (cwd && !existsSync(join(projectDir, "Pulumi.yaml"))) {
            problem(`runs pulumi in ${cwd[1]}, which has no Pulumi.yaml`);
        }
        const w = words(command);

        for (const m of command.matchAll(/\b(?:npx tsx|bash)\s+((?:\.\/)?[\w./-]+\.(?:ts|sh))\b/g)) {
            if (!existsSync(join(ROOT, m[1]))) {
                problem(`runs ${m[1]}, which does not exist`);
            }
        }
        for (const m of command.matchAll(/\bnpm (?:run(?:-script)? ([\w:.-]+)|(test|start)\b)/g)) {
            const script = m[1] ?? m[2];
            if (!(script in targets.scripts)) {
                problem(`runs npm script ${script}, which package.json lacks`);
            }
        }

        const stacks = w.flatMap((x, i) => (["--stack", "-s"].includes(w[i - 1]) && /^(pulumi|npm|npx)$/.test(w[0]) ? [x] : []));
        const positional = /^pulumi stack (init|select|rm) ([^\s-]\S*)/.exec(command);
        for (const stack of [...stacks, ...(positional ? [positional[2]] : [])]) {
            if (!unresolved(stack) && !targets.extraStacks.has(stack) && !existsSync(join(projectDir, `Pulumi.${stack}.yaml`))) {
                problem(`names stack ${stack}, which has no Pulumi.${stack}.yaml`);
            }
        }

        // `npm run release` or `… -- …` in prose names the command; only real invocations are planned.
        const release = releaseArgs(command);
        if (release !== undefined && release.some((x) => !unresolved(x))) {
            const write = process.stderr.write;
            try {
                // commander prints its usage errors too; the problem list reports them.
                process.stderr.write = () => true;
                const options = parseReleaseArgs(release);
                process.stderr.write = write;
                const steps = planRelease(options, { projectDir: ROOT, env: {}, cleanCommit: () => "0a1b2c3" });
                if (!/^pulumi up --stack [\w.-]+ --policy-pack policy/.test(steps[steps.length - 1].argv.join(" "))) {
                    problem("does not end in pulumi up with the policy pack");
                }
            } catch (err) {
                problem(`is not a valid release: ${(err as Error).message}`);
            } finally {
                process.stderr.write = write;
            }
        }

        if (/^pulumi config (set|get)\b/.test(command)) {
            const [key, value] = w.filter((x, i, all) => !x.startsWith("-") && !["--stack", "-s", "--type"].includes(all[i - 1])).slice(3);
            if (key !== undefined && !key.startsWith("gcp:") && key !== "image") {
                const field = schemaAt(targets.schema, key);
                if (!field) {
                    problem(`sets ${key}, which is not a config key`);
                } else if (value !== undefined && !unresolved(value) && !value.includes("<") && w[2] === "set") {
                    const problemsAfter = targets.schema === configSchema ? afterConfigSet(w, stacks[0] ?? "staging", key) : cliValueProblems(w, field);
                    for (const p of problemsAfter) {
                        problem(`sets ${key} to ${value}, which the CLI stores as config validation refuses: ${p}`);
                    }
                }
            }
        }

        for (const m of command.matchAll(/pulumi stack output (\w+)/g)) {
            if (!targets.outputs.has(m[1])) {
                problem(`reads stack output ${m[1]}, which ${targets.outputsFile} does not export`);
            }
        }
    }
    return problems;
}

for (const doc of DOCS) {
    describe(doc, () => {
        const markdown = readFileSync(join(ROOT, doc), "utf8");
        const commands = commandsOf(markdown);

        test("has commands to check", () => {
            assert.ok(commands.length >= 5, commands.join("\n"));
        });

        test("every script, file, stack, release, config key and stack output its commands name exists", () => {
            assert.deepEqual(problemsOf(doc, markdown), []);
        });

        test("has config and release commands where expected", () => {
            if (doc !== "docs/release.md") {
                assert.ok(commands.some((c) => /^pulumi config (set|get)\b/.test(c)), `${doc}: no config commands found`);
            }
            if (doc !== "docs/bootstrap.md" && doc !== "docs/dns-cutover.md") {
                assert.ok(commands.some((c) => releaseArgs(c) !== undefined), `${doc}: no release command found`);
            }
        });
    });
}

describe("every pulumi config set in any document is stored by the CLI as config validation expects", () => {
    const files = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
    // Stack files carry commands in their comments too.
    const stackComments = ["Pulumi.staging.yaml", "Pulumi.production.yaml"].map((f) => [f, "```sh\n" + readFileSync(join(ROOT, f), "utf8").split("\n").filter((l) => /^\s*#/.test(l)).map((l) => l.replace(/^\s*#\s*/, "")).join("\n") + "\n```"] as const);
    for (const [file, markdown] of [...files.map((f) => [f, readFileSync(join(ROOT, f), "utf8")] as const), ...stackComments]) {
        const sets = commandsOf(markdown).filter((c) => /^pulumi config set\b/.test(c));
        if (sets.length === 0) continue;
        test(file, () => {
            const problems: string[] = [];
            for (const command of sets) {
                const w = words(command);
                const [key, value] = w.filter((x, i, all) => !x.startsWith("-") && !["--stack", "-s", "--type"].includes(all[i - 1])).slice(3);
                // Keys of other projects (the bootstrap's, the IAM step's) are checked per document above.
                if (key === undefined || value === undefined || key.includes(":") || key === "image" || !schemaAt(configSchema, key) || unresolved(value) || value.includes("<")) continue;
                // Without a stack named, the command must work on one of the two.
                const named = w.find((_, i) => ["--stack", "-s"].includes(w[i - 1]));
                const results = (named ? [named] : ["staging", "production"]).map((stack) => afterConfigSet(w, stack, key));
                if (results.every((r) => r.length > 0)) {
                    problems.push(...results[0].map((p) => `${file}: \`${command}\`: ${p}`));
                }
            }
            assert.deepEqual(problems, []);
        });
    }
});

describe("README.md deploy path", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const commands = commandsOf(readme);

    test("keeps the two set-up commands exactly", () => {
        assert.ok(commands.includes("npm ci") && commands.includes("npm run synth -- --stack staging --out out/"), commands.join("\n"));
        assert.ok(readme.includes("```sh\nbash maint/install-deps.sh && npm test && npm run reliability\n```"));
    });

    test("logs docker in to the registry, builds for linux/amd64, pushes, pins and deploys, in that order", () => {
        const index = (re: RegExp) => commands.findIndex((c) => re.test(c));
        const order = [
            /^pulumi login gs:\/\//,
            /^pulumi stack init staging --secrets-provider /,
            /^gcloud auth configure-docker \S+-docker\.pkg\.dev$/,
            /^docker (buildx )?build --platform linux\/amd64 /,
            /^docker push /,
            /^pulumi config set image .* -s staging$/,
            /^pulumi up -s staging\b/,
        ].map(index);
        assert.ok(order.every((i) => i >= 0), `missing steps: ${order.join(", ")}\n${commands.join("\n")}`);
        assert.deepEqual([...order].sort((a, b) => a - b), order, commands.join("\n"));
        assert.ok(commands.includes("npm run release -- --stack staging --repository <imageRepository>"));
    });
});

describe("the checks catch a made-up snippet", () => {
    const bad = [
        "```sh",
        "npm run deploy-everything",
        "npx tsx tools/deploy.ts --stack staging",
        "bash tools/setup-cluster.sh",
        "pulumi up -s qa",
        "pulumi config set --path database.tierr db-custom-1-3840 -s staging",
        "pulumi config set --path workload.maxReplicas many -s staging",
        "pulumi config set --path monitoring.thresholds.sqlCpu 0.9 -s staging",
        "npm run release -- --stack staging --repository <imageRepository> --platform arm64",
        "npx tsx cli/release.ts --stack staging --image europe-west1-docker.pkg.dev/acme/django/app:latest",
        "pulumi stack output clusterUrl -s staging",
        "```",
        "",
        "Then `npm run docs:everything`.",
    ].join("\n");

    test("reports each bad command, and nothing for good ones", () => {
        const problems = problemsOf("bad.md", bad, targetsOf("README.md"));
        const expected = [
            /npm run deploy-everything` runs npm script deploy-everything, which package.json lacks/,
            /tools\/deploy\.ts --stack staging` runs tools\/deploy\.ts, which does not exist/,
            /bash tools\/setup-cluster\.sh` runs tools\/setup-cluster\.sh, which does not exist/,
            /pulumi up -s qa` names stack qa, which has no Pulumi\.qa\.yaml/,
            /sets database\.tierr, which is not a config key/,
            /sets workload\.maxReplicas to many, which the CLI stores as config validation refuses: django-platform:workload\.maxReplicas: expected number/,
            // --path stores 0.9 as the string "0.9": the documented form must say --type float.
            /sets monitoring\.thresholds\.sqlCpu to 0\.9, which the CLI stores as config validation refuses: .*--type float/,
            /--platform arm64` is not a valid release: error: unknown option '--platform'/,
            /app:latest` is not a valid release: --image ".*:latest" is not pinned by digest/,
            /reads stack output clusterUrl, which index\.ts does not export/,
            /npm run docs:everything` runs npm script docs:everything, which package\.json lacks/,
        ];
        for (const re of expected) {
            assert.ok(problems.some((p) => re.test(p)), `not reported: ${re}\n${problems.join("\n")}`);
        }
        assert.equal(problems.length, expected.length, problems.join("\n"));
        assert.deepEqual(problemsOf("good.md", "```sh\nnpm run synth -- --stack staging --out out/\nbash maint/install-deps.sh && npm test\n```\n", targetsOf("README.md")), []);
        // The JSON and --type float forms are what the CLI stores as validation expects.
        const forms = [
            "```sh",
            "pulumi config set --path 'workers.tasks.command' '[\"python\",\"manage.py\",\"demo_worker\"]' -s production",
            "pulumi config set --path --type float monitoring.thresholds.sqlCpu 0.9 -s staging",
            "pulumi config set --path 'statics.corsOrigins[0]' https://staging.example.com -s staging",
            "```",
        ].join("\n");
        assert.deepEqual(problemsOf("forms.md", forms, targetsOf("README.md")), []);
    });
});
