/**
 * Reads a Pulumi project file and a stack file into the config map the Pulumi CLI would hand the
 * program, without the CLI and without decrypting anything.
 *
 * What the CLI does and this mirrors: keys without a namespace belong to the project; objects and
 * arrays reach the program JSON-encoded; scalars as strings; project-level defaults from
 * `Pulumi.yaml` apply where the stack sets nothing. What it cannot do offline: decrypt `secure:`
 * values. Those become clearly marked placeholders (`[secret: django-platform:appSecrets.SENTRY_DSN]`)
 * and their keys are marked secret, so the program still treats them as secrets.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** A stack or project file that cannot be read or does not have the expected shape. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** Where to find the stack's config. */
export interface StackSource {
    /** Stack name; reads `Pulumi.<stack>.yaml` in `projectDir` unless `configFile` is given. */
    readonly stack?: string;
    /** Any stack file; its stack name comes from `Pulumi.<name>.yaml` unless `stack` is given. */
    readonly configFile?: string;
    /** Directory of the project's own `Pulumi.yaml`. */
    readonly projectDir: string;
}

/** The config of one stack, ready for `runProgram`. */
export interface StackConfig {
    /** Project name from `Pulumi.yaml`. */
    readonly project: string;
    /** Stack name. */
    readonly stack: string;
    /** The stack file that was read. */
    readonly stackFile: string;
    /** The project file that was read. */
    readonly projectFile: string;
    /** Fully-qualified key → raw string value, as the CLI passes config to a program. */
    readonly config: Record<string, string>;
    /**
     * Fully-qualified keys holding a secret (or an object with a secret inside), as the CLI marks
     * them, followed by the path of each encrypted value inside an object
     * (`django-platform:appSecrets.SENTRY_DSN`): the program tells plain-text `appSecrets` entries
     * from encrypted ones by these (config.ts), which the CLI alone cannot tell it.
     */
    readonly secretKeys: string[];
    /** The placeholders that stand in for `secure:` values, one per secret value. */
    readonly placeholders: string[];
    /** The stack's `secretsprovider`, when set. */
    readonly secretsProvider?: string;
}

/** The placeholder that replaces an encrypted value at `key` (dotted path inside objects). */
export function secretPlaceholder(key: string): string {
    return `[secret: ${key}]`;
}

type Yaml = Record<string, unknown>;

function readYaml(file: string, what: string): Yaml {
    if (!existsSync(file)) {
        throw new StackFileError(`${what} ${file} does not exist. Fix: pass an existing file, or create it with \`pulumi stack init\`.`);
    }
    let doc: unknown;
    try {
        doc = parse(readFileSync(file, "utf8"));
    } catch (err) {
        throw new StackFileError(`${what} ${file} is not valid YAML: ${(err as Error).message}`);
    }
    if (doc === null || doc === undefined) {
        return {};
    }
    if (typeof doc !== "object" || Array.isArray(doc)) {
        throw new StackFileError(`${what} ${file} must be a YAML mapping (got ${Array.isArray(doc) ? "a list" : typeof doc}).`);
    }
    return doc as Yaml;
}

function isSecure(value: unknown): value is { secure: string } {
    return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1 && typeof (value as Yaml).secure === "string";
}

/** Replaces `secure:` values (at any depth) by placeholders; adds the path of each to `found`. */
function replaceSecure(value: unknown, where: string, found: string[]): unknown {
    if (isSecure(value)) {
        found.push(where);
        return secretPlaceholder(where);
    }
    if (Array.isArray(value)) {
        return value.map((v, i) => replaceSecure(v, `${where}[${i}]`, found));
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSecure(v, `${where}.${k}`, found)]));
    }
    return value;
}

/** The raw string the CLI passes for a config value: strings as-is, the rest JSON. */
function rawString(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function qualify(key: string, project: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

/** Project-level config defaults: `key: value` or `key: {type, default, …}` in `Pulumi.yaml`. */
function projectDefaults(projectDoc: Yaml, project: string): Record<string, unknown> {
    const declared = (projectDoc.config ?? {}) as Yaml;
    const defaults: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(declared)) {
        const isDeclaration = decl !== null && typeof decl === "object" && !Array.isArray(decl) && ("type" in decl || "default" in decl || "description" in decl || "value" in decl);
        if (!isDeclaration) {
            defaults[qualify(key, project)] = decl;
        } else if ("default" in decl || "value" in decl) {
            defaults[qualify(key, project)] = (decl as Yaml).default ?? (decl as Yaml).value;
        }
    }
    return defaults;
}

function stackNameFromFile(file: string): string {
    const base = path.basename(file);
    const match = /^Pulumi\.(.+)\.ya?ml$/.exec(base);
    return match ? match[1] : base.replace(/\.ya?ml$/, "");
}

/**
 * Reads `Pulumi.yaml` and the stack file and returns the stack's config as the CLI would pass it.
 * `Pulumi.yaml` is taken from beside the stack file when there is one, else from `projectDir`.
 * @throws StackFileError when a file is missing, is not YAML or has the wrong shape.
 */
export function loadStackConfig(source: StackSource): StackConfig {
    if (!source.stack && !source.configFile) {
        throw new StackFileError("No stack given. Fix: pass --stack <name> (reads Pulumi.<name>.yaml) or --config-file <path>.");
    }
    const stackFile = path.resolve(source.configFile ?? path.join(source.projectDir, `Pulumi.${source.stack}.yaml`));
    const besideStack = path.join(path.dirname(stackFile), "Pulumi.yaml");
    const projectFile = existsSync(besideStack) ? besideStack : path.join(source.projectDir, "Pulumi.yaml");
    const projectDoc = readYaml(projectFile, "Project file");
    if (typeof projectDoc.name !== "string" || projectDoc.name === "") {
        throw new StackFileError(`Project file ${projectFile} has no \`name:\`. Fix: add \`name: <project>\`.`);
    }
    const project = projectDoc.name;
    const stackDoc = readYaml(stackFile, "Stack file");
    const stackConfig = stackDoc.config ?? {};
    if (typeof stackConfig !== "object" || Array.isArray(stackConfig)) {
        throw new StackFileError(`Stack file ${stackFile}: \`config:\` must be a mapping of keys to values.`);
    }

    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const placeholders: string[] = [];
    const valuePaths: string[] = [];
    for (const [key, value] of Object.entries(projectDefaults(projectDoc, project))) {
        config[key] = rawString(value);
    }
    for (const [key, value] of Object.entries(stackConfig as Yaml)) {
        const qualified = qualify(key, project);
        const found: string[] = [];
        const plain = replaceSecure(value, qualified, found);
        if (found.length > 0) {
            secretKeys.push(qualified);
            valuePaths.push(...found.filter((where) => where !== qualified));
            placeholders.push(...found.map(secretPlaceholder));
        }
        if (plain === null || plain === undefined) {
            continue;
        }
        config[qualified] = rawString(plain);
    }
    const provider = stackDoc.secretsprovider;
    return {
        project,
        stack: source.stack ?? stackNameFromFile(stackFile),
        stackFile,
        projectFile,
        config,
        secretKeys: [...secretKeys, ...valuePaths],
        placeholders,
        secretsProvider: typeof provider === "string" ? provider : undefined,
    };
}
