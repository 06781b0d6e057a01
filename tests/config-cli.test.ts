/**
 * The fixes config validation prints work with the real CLI: each `pulumi config set|rm` of a
 * message is applied to the stack file the way the Pulumi CLI writes it (tests/lib/pulumiConfigCli.ts:
 * `--path` stores "true"/"false" as booleans, integers as numbers and everything else as a string,
 * pulumi/pulumi#18285 and `adjustObjectValue` in the CLI's config map), the file is read back as
 * synth reads it, and validated again: the problem at that key must be gone, not printed again.
 *
 * A sweep puts a value of the wrong shape at every key of the schema (objects where scalars belong,
 * a string where an array or object belongs, inside records and arrays too) and follows each fix.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { ConfigError, configSchema, formatPath, validateConfig } from "../config";
import { loadStackConfig } from "../cli/lib/stackConfig";
import { applyConfigCommand, fixCommands, parseConfigCommand, parsePropertyPath, shellWords } from "./lib/pulumiConfigCli";

const ROOT = path.resolve(__dirname, "..");
const PROJECT = "django-platform";
const dir = mkdtempSync(path.join(tmpdir(), "config-cli-"));
copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
after(() => rmSync(dir, { recursive: true, force: true }));

/* eslint-disable @typescript-eslint/no-explicit-any */
type Doc = Record<string, any>;

function stackDoc(stack: string): Doc {
    return parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as Doc;
}

/** Validation problems of a stack file, read from disk as synth reads it. */
function problemsOf(doc: Doc, stack = "cli"): string[] {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    writeFileSync(file, stringify(doc));
    const loaded = loadStackConfig({ configFile: file, projectDir: dir });
    try {
        validateConfig(loaded.config, stack);
        return [];
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.problems;
    }
}

/** Sets `value` at a key path of the parsed file, as an editor would (the mistake). */
function put(doc: Doc, keyPath: (string | number)[], value: unknown): Doc {
    const out = structuredClone(doc);
    const config = (out.config ??= {});
    const top = `${PROJECT}:${keyPath[0]}`;
    if (keyPath.length === 1) {
        config[top] = value;
        return out;
    }
    config[top] ??= typeof keyPath[1] === "number" ? [] : {};
    let c = config[top];
    keyPath.slice(1, -1).forEach((k, i) => {
        c[k] ??= typeof keyPath[i + 2] === "number" ? [] : {};
        c = c[k];
    });
    c[keyPath[keyPath.length - 1]] = value;
    return out;
}

const names = (p: string) => new RegExp(`^${PROJECT}:${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w])`);

/**
 * Follows the printed fixes for the problems at `key` until none is left (at most 3 rounds), as a
 * user copying each `Fix:` command would; returns the rounds' problems for the assertion message.
 */
function converge(doc: Doc, key: string): { ok: boolean; log: string[]; doc: Doc } {
    const log: string[] = [];
    let current = structuredClone(doc);
    for (let round = 0; round < 3; round++) {
        const problems = problemsOf(current).filter((p) => names(key).test(p));
        if (problems.length === 0) {
            return { ok: true, log, doc: current };
        }
        log.push(...problems.map((p) => `round ${round + 1}: ${p}`));
        for (const problem of problems) {
            const { commands, sequential } = fixCommands(problem);
            // A secret's value is the user's to type: `--secret … <value>` stands for it.
            const chosen = (sequential ? commands : commands.slice(0, 1)).map((w) => (w.includes("--secret") ? w.map((x) => (x === "<value>" ? "typed-secret-value" : x)) : w));
            if (chosen.length === 0 || chosen.some((w) => w.some((x) => /^<.*>$/.test(x)))) {
                log.push("  (no fix command that can be run as printed)");
                return { ok: false, log, doc: current };
            }
            for (const words of chosen) {
                applyConfigCommand(current, parseConfigCommand(words), PROJECT);
            }
        }
    }
    log.push(...problemsOf(current).filter((p) => names(key).test(p)).map((p) => `after 3 rounds: ${p}`));
    return { ok: false, log, doc: current };
}

describe("the CLI emulation (tests/lib/pulumiConfigCli.ts) writes what the documentation says", () => {
    it("--path: true/false → boolean, integers → number, a leading zero and everything else → string; top level always a string", () => {
        const doc: Doc = { config: {} };
        const run = (line: string) => applyConfigCommand(doc, parseConfigCommand(shellWords(line)), PROJECT);
        run("pulumi config set --path workload.spot true");
        run("pulumi config set --path workload.maxReplicas 5");
        run("pulumi config set --path database.backups.startTime 02:00");
        run("pulumi config set --path monitoring.thresholds.sqlCpu 0.8");
        run("pulumi config set --path 'statics.corsOrigins' '[\"https://a.example.com\"]'");
        run("pulumi config set --path 'cluster.masterAuthorizedNetworks[0].name' office");
        run("pulumi config set --path --type string appEnv.MAX_UPLOAD_MB 10");
        run("pulumi config set --path --type float usage.appEgressGib 2");
        run("pulumi config set domain 12345");
        assert.deepEqual(doc.config, {
            "django-platform:workload": { spot: true, maxReplicas: 5 },
            "django-platform:database": { backups: { startTime: "02:00" } },
            "django-platform:monitoring": { thresholds: { sqlCpu: "0.8" } },
            "django-platform:statics": { corsOrigins: '["https://a.example.com"]' },
            "django-platform:cluster": { masterAuthorizedNetworks: [{ name: "office" }] },
            "django-platform:appEnv": { MAX_UPLOAD_MB: "10" },
            "django-platform:usage": { appEgressGib: 2 },
            "django-platform:domain": "12345",
        });
        run("pulumi config rm --path 'cluster.masterAuthorizedNetworks[0]'");
        run("pulumi config rm domain");
        assert.deepEqual(doc.config["django-platform:cluster"], { masterAuthorizedNetworks: [] });
        assert.equal(doc.config["django-platform:domain"], undefined);
        assert.deepEqual(parsePropertyPath('a.b[0]["c.d"].e'), ["a", "b", 0, "c.d", "e"]);
        assert.throws(() => run("pulumi config set --path 'statics.corsOrigins[5]' x"), /out of range|holds a string/);
    });

    it("reads the Fix: part of a message: `a`, then `b` runs both; `a`, or `b` the first", () => {
        assert.equal(fixCommands("x. Fix: `pulumi config rm --path a.b`, then `pulumi config set --path a.c 1`.").sequential, true);
        assert.equal(fixCommands("x. Fix: `pulumi config set --path a 1`, or `pulumi config set --path b 2`.").sequential, false);
    });
});

describe("the review's three loops converge (workers command, authorized networks, CORS origins)", () => {
    const cases: Array<[string, string, (string | number)[], unknown]> = [
        ["a worker without a command", "workers.celery.command", ["workers", "celery"], { maxReplicas: 2 }],
        ["authorized networks as a list of CIDRs", "cluster.masterAuthorizedNetworks[0]", ["cluster", "masterAuthorizedNetworks"], ["100.64.10.0/24"]],
        ["CORS origins as one string", "statics.corsOrigins", ["statics", "corsOrigins"], "staging.example.com"],
        ["a misspelt key (the value moves to the key it meant)", "workload.maxReplica", ["workload", "maxReplica"], 4],
        ["a misspelt top-level key (its object moves to the key it meant)", "databse", ["databse"], { tier: "db-f1-micro", diskSizeGb: 20 }],
        ["a password in appEnv (it moves to appSecrets)", "appEnv.DATABASE_PASSWORD", ["appEnv", "DATABASE_PASSWORD"], "hunter2"],
    ];
    for (const [title, key, at, value] of cases) {
        it(title, () => {
            const doc = stackDoc("staging");
            if (at[0] === "databse") delete doc.config[`${PROJECT}:database`];
            const result = converge(put(doc, at, value), key);
            assert.ok(result.ok, result.log.join("\n"));
            assert.ok(result.log.length > 0, "the mistake was not reported at all");
        });
    }
});

/** The schema at a key path: objects, records (any entry name), arrays (any index). */
function unwrap(s: z.ZodType): z.ZodType {
    let cur: any = s;
    for (let i = 0; i < 8; i++) {
        if (cur instanceof z.ZodObject || cur instanceof z.ZodRecord || cur instanceof z.ZodArray) return cur;
        const inner = cur?.def?.innerType ?? cur?.def?.in;
        if (!inner) return cur;
        cur = inner;
    }
    return cur;
}

/** Entry names used for records in the sweep. */
const ENTRY: Record<string, string> = { workers: "tasks", schedules: "clearsessions", appEnv: "FEATURE_FLAGS", appSecrets: "SENTRY_DSN" };

/** Every key path of the schema, containers and leaves, with whether it holds a scalar. */
function keyPaths(schema: z.ZodType, prefix: (string | number)[] = []): Array<{ path: (string | number)[]; scalar: boolean }> {
    const s = unwrap(schema);
    if (s instanceof z.ZodObject) {
        return [
            ...(prefix.length ? [{ path: prefix, scalar: false }] : []),
            ...Object.entries(s.shape).flatMap(([k, v]) => keyPaths(v as z.ZodType, [...prefix, k])),
        ];
    }
    if (s instanceof z.ZodRecord) {
        return [{ path: prefix, scalar: false }, ...keyPaths(s.def.valueType as z.ZodType, [...prefix, ENTRY[String(prefix[0])] ?? "x"])];
    }
    if (s instanceof z.ZodArray) {
        return [{ path: prefix, scalar: false }, ...keyPaths(s.def.element as z.ZodType, [...prefix, 0])];
    }
    return [{ path: prefix, scalar: true }];
}

describe("every printed fix converges when applied as the CLI writes it (a wrong-shaped value at every key)", () => {
    const base = stackDoc("production");
    for (const { path: keyPath, scalar } of keyPaths(configSchema)) {
        if (keyPath[0] === "domain" || keyPath[0] === "image") continue; // top-level strings: set as given
        const key = formatPath(keyPath);
        it(key, () => {
            const bad = scalar ? { "not-a": "valid value" } : "oops";
            const result = converge(put(base, keyPath, bad), key.replace(/\[0\]$/, ""));
            assert.ok(result.ok, result.log.join("\n"));
        });
    }
});
