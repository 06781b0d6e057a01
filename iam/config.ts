/**
 * Config of the IAM step, read and validated before any resource exists. Its own keys are few: the
 * CI home project (to name the stack's deployer) and, optionally, where the main stack's file is.
 * Everything about the stack's identities comes from that file, validated by the main program's
 * own schema (config.ts), so the IAM step and `pulumi up` never disagree about which accounts a
 * stack has (components/identities.ts).
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { validateConfig, type PlatformConfig } from "../config";
import { loadStackConfig } from "../cli/lib/stackConfig";

/** The IAM step's Pulumi project name: its config keys live in this namespace. */
export const IAM_PROJECT = "django-platform-iam";

/** The repository root: the main project's `Pulumi.yaml` and stack files. */
export const REPOSITORY_ROOT = path.resolve(__dirname, "..");

const projectId = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a GCP project id");

/** Schema of the IAM step's own keys (without the namespace). */
export const iamSchema = z.object({
    ciProject: projectId.optional(),
    stackFile: z
        .string()
        .regex(/^[A-Za-z0-9_][A-Za-z0-9._/-]*\.ya?ml$/, "must be a YAML file relative to the repository root, such as Pulumi.staging.yaml")
        .refine((f) => !f.split("/").includes(".."), "must stay inside the repository")
        .optional(),
    adoptExisting: z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean("must be true or false")).default(false),
});

/** The validated IAM step config. */
export interface IamConfig {
    /** The CI home project (the bootstrap's `gcp:project`). */
    readonly ciProject: string;
    /** The main stack file that was read. */
    readonly stackFile: string;
    /** Import existing accounts and project grants instead of creating them (migration). */
    readonly adoptExisting: boolean;
    /** The main stack's validated config. */
    readonly platform: Omit<PlatformConfig, "appSecretOutputs">;
}

/** Raised for invalid IAM step config; the message names each key, the bad value and the fix. */
export class IamConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`Invalid IAM step configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "IamConfigError";
    }
}

const EXAMPLES = { ciProject: "acme-django-ci", stackFile: "Pulumi.staging.yaml", adoptExisting: "true" } as const;

/**
 * Validates the raw IAM config of stack `stack` and reads the main stack's file (from `root`).
 * Pure apart from reading that file, so tests call it directly.
 */
export function validateIamConfig(raw: Record<string, string | undefined>, stack: string, root: string = REPOSITORY_ROOT): IamConfig {
    const problems: string[] = [];
    const input: Record<string, unknown> = {};
    for (const [fullKey, value] of Object.entries(raw)) {
        const [ns, key] = fullKey.split(":");
        if (ns !== IAM_PROJECT || value === undefined) {
            continue;
        }
        if (!(key in iamSchema.shape)) {
            problems.push(`${fullKey}: unknown key (got ${JSON.stringify(value)}). Fix: check the spelling, or remove it with \`pulumi config rm ${key}\`.`);
            continue;
        }
        input[key] = value;
    }
    const parsed = iamSchema.safeParse(input);
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            const key = String(issue.path[0]) as keyof typeof EXAMPLES;
            problems.push(`${IAM_PROJECT}:${key}: ${issue.message} (got ${JSON.stringify(input[key])}). Fix: \`pulumi config set ${key} ${EXAMPLES[key]}\`.`);
        }
    } else if (!parsed.data.ciProject) {
        problems.push(
            `${IAM_PROJECT}:ciProject: is required: the CI home project of the bootstrap, where the stack's deployer lives (got nothing). ` +
                `Fix: \`pulumi config set ciProject ${EXAMPLES.ciProject}\` (the bootstrap's gcp:project).`,
        );
    }
    if (problems.length > 0 || !parsed.success) {
        throw new IamConfigError(problems);
    }
    const stackFile = parsed.data.stackFile ?? `Pulumi.${stack}.yaml`;
    const loaded = loadStackConfig({ configFile: path.join(root, stackFile), stack, projectDir: root });
    const platform = validateConfig(loaded.config, stack);
    if (platform.project === parsed.data.ciProject) {
        throw new IamConfigError([
            `${IAM_PROJECT}:ciProject: is the stack's own project ${platform.project} (gcp:project of ${stackFile}); no stack may deploy into the CI home project. ` +
                "Fix: move the stack to its own project, or give the bootstrap a separate home project.",
        ]);
    }
    return { ciProject: parsed.data.ciProject as string, stackFile, adoptExisting: parsed.data.adoptExisting, platform };
}

/** Reads the current stack's config through the Pulumi runtime and validates it. */
export function loadIamConfig(): IamConfig {
    return validateIamConfig(pulumi.runtime.allConfig(), pulumi.getStack());
}
