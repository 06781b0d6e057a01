/**
 * The commands in docs/bootstrap.md, docs/release.md and docs/operations.md, exercised offline where
 * they can be: repository scripts exist, every `tools/release.ts` invocation plans a valid
 * release, every `pulumi config set|get` names a real config key (and a valid value where the
 * docs give one), and every `pulumi stack output` names an output the program exports.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { z } from "zod";
import { bootstrapSchema } from "../bootstrap/config";
import { configSchema } from "../config";
import { parseReleaseArgs, planRelease } from "../tools/release";

const ROOT = join(__dirname, "..");
const DOCS = ["bootstrap.md", "release.md", "operations.md"];
const DIGEST_REF = `europe-west1-docker.pkg.dev/acme-django-staging/django/app@sha256:${"ab".repeat(32)}`;

/** Shell commands of a markdown file: lines of fenced blocks and inline code spans. */
function commandsOf(markdown: string): string[] {
    const fenced = [...markdown.matchAll(/```(?:sh|bash)?\n([\s\S]*?)```/g)].flatMap((m) => m[1].split("\n"));
    const withoutFences = markdown.replace(/```[\s\S]*?```/g, "");
    const inline = [...withoutFences.matchAll(/`([^`\n]+)`/g)].map((m) => m[1].replace(/\\\|/g, "|"));
    return [...fenced, ...inline].map((c) => c.replace(/\s+#.*$/, "").trim()).filter((c) => /^(npx|npm|bash|pulumi|kubectl|gcloud|gh|pg_dump|mkdir|rm|curl|export|cd)\b/.test(c));
}

/** Splits a command line into words, after replacing command substitutions by a digest reference. */
function words(command: string): string[] {
    const substituted = command.replace(/"\$\([^)]*\)"|\$\([^)]*\)|"\$IMAGE"/g, DIGEST_REF);
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

for (const doc of DOCS) {
    describe(`docs/${doc}`, () => {
        const commands = commandsOf(readFileSync(join(ROOT, "docs", doc), "utf8"));
        const bootstrap = doc === "bootstrap.md";
        const schema: z.ZodType = bootstrap ? bootstrapSchema : configSchema;
        const outputs = outputsOf(bootstrap ? "bootstrap/index.ts" : "index.ts");

        test("has commands to check", () => {
            assert.ok(commands.length >= 5, commands.join("\n"));
        });

        test("repository scripts and npm scripts exist", () => {
            const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
            for (const command of commands) {
                for (const m of command.matchAll(/\b(?:npx tsx|bash)\s+(tools\/[\w./-]+)/g)) {
                    assert.ok(existsSync(join(ROOT, m[1])), `${doc}: \`${command}\` runs ${m[1]}, which does not exist`);
                }
                for (const m of command.matchAll(/\bnpm run ([\w:-]+)/g)) {
                    assert.ok(m[1] in scripts, `${doc}: \`${command}\` runs npm script ${m[1]}, which package.json lacks`);
                }
            }
        });

        test("every tools/release.ts invocation plans a release", () => {
            for (const command of commands.filter((c) => c.includes("tools/release.ts"))) {
                const argv = words(command).slice(words(command).indexOf("tools/release.ts") + 1)
                    .map((w) => (w === "<imageRepository>" ? "europe-west1-docker.pkg.dev/acme-django-staging/django/app" : w));
                const steps = planRelease(parseReleaseArgs(argv), { projectDir: ROOT, env: {}, cleanCommit: () => "0a1b2c3" });
                assert.match(steps[steps.length - 1].argv.join(" "), /^pulumi up --stack \w+ --policy-pack policy/, `${doc}: ${command}`);
            }
        });

        test("every pulumi config set/get names a real key, with a valid value where one is given", () => {
            let checked = 0;
            for (const command of commands.filter((c) => /^pulumi config (set|get)\b/.test(c))) {
                const w = words(command).filter((x, i, all) => !x.startsWith("-") && !["--stack", "-s"].includes(all[i - 1]));
                const [key, value] = w.slice(3);
                if (key.startsWith("gcp:") || key === "image") {
                    continue;
                }
                const field = schemaAt(schema, key);
                assert.ok(field, `${doc}: \`${command}\` sets ${key}, which is not a config key`);
                if (value !== undefined && !value.includes("<")) {
                    let parsedValue: unknown = value;
                    try {
                        parsedValue = JSON.parse(value);
                    } catch {
                        // a plain string
                    }
                    assert.ok(field.safeParse(parsedValue).success, `${doc}: \`${command}\`: ${value} is not a valid ${key}`);
                }
                checked++;
            }
            assert.ok(checked > 0 || doc === "release.md", `${doc}: no config commands found`);
        });

        test("every pulumi stack output names an exported output", () => {
            for (const command of commands) {
                for (const m of command.matchAll(/pulumi stack output (\w+)/g)) {
                    assert.ok(outputs.has(m[1]), `${doc}: \`${command}\` reads stack output ${m[1]}, which ${bootstrap ? "bootstrap/index.ts" : "index.ts"} does not export`);
                }
            }
        });
    });
}
