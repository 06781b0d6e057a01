/**
 * Config of the bootstrap project, read and validated in one place before any resource exists.
 *
 * Bad or missing values stop the program with a {@link BootstrapConfigError} whose message names
 * each key, the bad value and the `pulumi config set` command that fixes it.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { MAX_SUBJECT_BYTES, deployerContexts, previewerContexts, subjectOf } from "./githubFederation";

/** The bootstrap's Pulumi project name: its config keys live in this namespace. */
export const BOOTSTRAP_PROJECT = "django-platform-bootstrap";

const required = (what: string) => ({
    error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required: ${what}` : `must be a string`),
});

const projectId = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a GCP project id");

/** Stack names become KMS key names and `Pulumi.<stack>.yaml` file names. */
const stackName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, "each stack name must be lower case letters, digits and dashes, starting with a letter");

/** Schema of the bootstrap project's own keys (without the namespace). */
export const bootstrapSchema = z
    .object({
        githubRepository: z
            .string(required("the one GitHub repository (owner/name) whose workflows may deploy"))
            .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, "must be a GitHub repository as owner/name"),
        stacks: z
            .array(stackName)
            .min(1, "must list at least one stack")
            .refine((s) => new Set(s).size === s.length, "must not list a stack twice")
            .default(["staging", "production"]),
        stackProjects: z.record(z.string(), projectId).default({}),
        registryReaders: z
            .array(z.string().regex(/^(serviceAccount|group|user|principalSet|principal):\S+$/, "each reader must be an IAM member such as serviceAccount:<email>"))
            .default([]),
        location: z.string().regex(/^[a-z]+-[a-z]+\d$/, "must be a GCP region such as europe-west1").optional(),
        stateBucketName: z
            .string()
            .regex(/^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/, "must be a GCS bucket name: 3-63 lower case letters, digits, dashes, underscores")
            .refine((n) => !n.startsWith("goog") && !n.includes("google"), "must not start with goog or contain google (GCS rejects it)")
            .optional(),
        keyRingName: z.string().regex(/^[a-zA-Z0-9_-]{1,63}$/, "must be 1-63 letters, digits, dashes or underscores").default("pulumi"),
        artifactRepositoryId: z
            .string()
            .regex(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be lower case letters, digits and dashes, starting with a letter")
            .default("django"),
        workloadIdentityPoolId: z
            .string()
            .regex(/^[a-z0-9-]{4,32}$/, "must be 4-32 lower case letters, digits or dashes")
            .refine((id) => !id.startsWith("gcp-"), "must not start with gcp- (reserved by Google)")
            .default("github-actions"),
        deployerAccountId: z
            .string()
            .regex(/^[a-z]([a-z0-9-]{4,28}[a-z0-9])$/, "must be 6-30 lower case letters, digits or dashes, starting with a letter")
            .default("github-deployer"),
        previewerAccountId: z
            .string()
            .regex(/^[a-z]([a-z0-9-]{4,28}[a-z0-9])$/, "must be 6-30 lower case letters, digits or dashes, starting with a letter")
            .optional(),
        previewStacks: z
            .array(stackName)
            .min(1, "must list at least one stack")
            .optional(),
        // Usage and storage logs of the state bucket (bootstrap/stateBackend.ts): "false" where
        // domain-restricted sharing rejects Google's group:cloud-storage-analytics@google.com writer.
        // Pulumi hands the program config as strings ("false"); a boolean is accepted too.
        stateAccessLogs: z
            .preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean("must be true or false"))
            .default(true),
        appContext: z
            .string()
            // Segments cannot start with a dot, so neither `..` nor an absolute path gets through.
            .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/, "must be a directory relative to the repository root, such as app or src/web")
            .optional(),
    });

/** Provider keys the bootstrap needs (outside its namespace). */
export const providerSchema = z.object({
    "gcp:project": z.string(required("the Google Cloud project id")).pipe(projectId),
    "gcp:region": z.string(required("the Google Cloud region")).regex(/^[a-z]+-[a-z]+\d$/, "must be a GCP region such as europe-west1"),
});

/** One accepted value per key, used in the fix commands of error messages. */
const EXAMPLES: Record<keyof typeof bootstrapSchema.shape | keyof typeof providerSchema.shape, string> = {
    githubRepository: "acme/django-platform",
    stacks: "staging",
    stackProjects: "acme-django-prod",
    registryReaders: "serviceAccount:gke-nodes@acme-django-prod.iam.gserviceaccount.com",
    location: "europe-west1",
    stateBucketName: "acme-prod-pulumi-state",
    keyRingName: "pulumi",
    artifactRepositoryId: "django",
    workloadIdentityPoolId: "github-actions",
    deployerAccountId: "github-deployer",
    previewerAccountId: "github-previewer",
    previewStacks: "staging",
    appContext: "src/web",
    stateAccessLogs: "false",
    "gcp:project": "acme-prod",
    "gcp:region": "europe-west1",
};

/** The validated, defaulted bootstrap configuration. */
export type BootstrapConfig = Omit<
    z.infer<typeof bootstrapSchema>,
    "location" | "stateBucketName" | "stackProjects" | "previewerAccountId" | "previewStacks" | "appContext"
> & {
    /** Home project (`gcp:project`) of the shared parts: state bucket, registry, CI identity. */
    readonly project: string;
    /** The project of every stack (from `stackProjects`, else the home project). */
    readonly stackProjects: Readonly<Record<string, string>>;
    /** Default region of the provider (`gcp:region`). */
    readonly region: string;
    /** Location of the key ring, state bucket and image registry; defaults to `gcp:region`. */
    readonly location: string;
    /** State bucket name; defaults to `<project>-pulumi-state`. */
    readonly stateBucketName: string;
    /** Account id of the read-only pull request previewer; defaults to `github-previewer`. */
    readonly previewerAccountId: string;
    /**
     * Stacks that pull requests preview (`pr.yml`); the previewer may read and decrypt only these.
     * Defaults to `[staging]` when there is a staging stack, else the first stack.
     */
    readonly previewStacks: readonly string[];
    /** Docker build context of the app image (`APP_CONTEXT`, read by `deploy.yml`); defaults to `app`. */
    readonly appContext: string;
};

/** Raised for invalid or missing bootstrap config; the message lists every problem with its fix. */
export class BootstrapConfigError extends pulumi.RunError {
    constructor(readonly problems: string[]) {
        super(`Invalid bootstrap configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "BootstrapConfigError";
    }
}

function show(value: unknown): string {
    return value === undefined ? "nothing" : JSON.stringify(value);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
    let value = root;
    for (const key of path) {
        value = value !== null && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[key] : undefined;
    }
    return value;
}

const STRUCTURED_KEYS = new Set(["stacks", "stackProjects", "registryReaders", "previewStacks"]);

function fixFor(key: string): string {
    if (key === "stacks" || key === "registryReaders" || key === "previewStacks") {
        return `pulumi config set --path '${key}[0]' ${EXAMPLES[key]}`;
    }
    if (key === "stackProjects") {
        return `pulumi config set --path stackProjects.production ${EXAMPLES.stackProjects}`;
    }
    if (key.startsWith("gcp:")) {
        return `pulumi config set ${key} ${EXAMPLES[key as keyof typeof EXAMPLES]}`;
    }
    return `pulumi config set --path ${key} ${EXAMPLES[key as keyof typeof EXAMPLES]}`;
}

/** Parses a raw config string: JSON for structured keys (how the CLI stores `--path` values), text otherwise. */
function parseRaw(key: string, raw: string, problems: string[]): unknown {
    if (!STRUCTURED_KEYS.has(key)) {
        return raw;
    }
    try {
        return JSON.parse(raw);
    } catch {
        problems.push(`${BOOTSTRAP_PROJECT}:${key}: must be structured config set with --path (got ${show(raw)}). Fix: \`${fixFor(key)}\`.`);
        return undefined;
    }
}

/**
 * Validates raw config (fully-qualified key → string, as the CLI passes it) into a
 * {@link BootstrapConfig}. Pure, so tests call it directly.
 */
export function validateBootstrapConfig(raw: Record<string, string | undefined>): BootstrapConfig {
    const problems: string[] = [];
    const input: Record<string, unknown> = {};
    for (const [fullKey, value] of Object.entries(raw)) {
        const [ns, key] = fullKey.split(":");
        if (ns !== BOOTSTRAP_PROJECT || value === undefined) {
            continue;
        }
        if (!(key in bootstrapSchema.shape)) {
            problems.push(`${fullKey}: unknown key (got ${show(value)}). Fix: check the spelling, or remove it with \`pulumi config rm ${key}\`.`);
            continue;
        }
        input[key] = parseRaw(key, value, problems);
    }
    const own = bootstrapSchema.safeParse(input);
    if (!own.success) {
        for (const issue of own.error.issues) {
            const key = String(issue.path[0]);
            const where = issue.path.map(String).join(".");
            problems.push(`${BOOTSTRAP_PROJECT}:${where}: ${issue.message} (got ${show(valueAt(input, issue.path))}). Fix: \`${fixFor(key)}\`.`);
        }
    } else {
        for (const stack of Object.keys(own.data.stackProjects)) {
            if (!own.data.stacks.includes(stack)) {
                problems.push(
                    `${BOOTSTRAP_PROJECT}:stackProjects.${stack}: names a stack that is not in stacks (${own.data.stacks.join(", ")}). ` +
                        `Fix: \`pulumi config rm --path stackProjects.${stack}\` or add it with \`pulumi config set --path 'stacks[${own.data.stacks.length}]' ${stack}\`.`,
                );
            }
        }
        for (const [i, stack] of (own.data.previewStacks ?? []).entries()) {
            if (!own.data.stacks.includes(stack)) {
                problems.push(
                    `${BOOTSTRAP_PROJECT}:previewStacks.${i}: names a stack that is not in stacks (${own.data.stacks.join(", ")}). ` +
                        `Fix: \`pulumi config set --path 'previewStacks[${i}]' ${own.data.stacks[0]}\`.`,
                );
            }
        }
        if ((own.data.previewerAccountId ?? "github-previewer") === own.data.deployerAccountId) {
            problems.push(
                `${BOOTSTRAP_PROJECT}:previewerAccountId: must differ from deployerAccountId (${own.data.deployerAccountId}): pull requests must not get the deployer. ` +
                    `Fix: \`pulumi config set --path previewerAccountId github-previewer\`.`,
            );
        }
        // Every subject a service account is bound to must fit Google's limit, or that job's token
        // exchange fails ("The size of mapped attribute exceeds the 127 bytes limit").
        const contexts = { ...deployerContexts(own.data.stacks), ...previewerContexts() };
        for (const context of Object.values(contexts)) {
            const subject = subjectOf(own.data.githubRepository, context);
            if (Buffer.byteLength(subject) > MAX_SUBJECT_BYTES) {
                problems.push(
                    `${BOOTSTRAP_PROJECT}:githubRepository: the federated subject ${JSON.stringify(subject)} is ${Buffer.byteLength(subject)} bytes, ` +
                        `more than the ${MAX_SUBJECT_BYTES} Google accepts. Fix: a shorter repository or stack name.`,
                );
            }
        }
    }
    const providers = providerSchema.safeParse({ "gcp:project": raw["gcp:project"], "gcp:region": raw["gcp:region"] });
    if (!providers.success) {
        for (const issue of providers.error.issues) {
            const key = String(issue.path[0]);
            problems.push(`${key}: ${issue.message} (got ${show(raw[key])}). Fix: \`${fixFor(key)}\`.`);
        }
    }
    if (!own.success || !providers.success || problems.length > 0) {
        throw new BootstrapConfigError(problems);
    }
    const project = providers.data["gcp:project"];
    const region = providers.data["gcp:region"];
    return {
        ...own.data,
        project,
        region,
        stackProjects: Object.fromEntries(own.data.stacks.map((stack) => [stack, own.data.stackProjects[stack] ?? project])),
        location: own.data.location ?? region,
        stateBucketName: own.data.stateBucketName ?? `${project}-pulumi-state`,
        previewerAccountId: own.data.previewerAccountId ?? "github-previewer",
        previewStacks: own.data.previewStacks ?? [own.data.stacks.includes("staging") ? "staging" : own.data.stacks[0]],
        appContext: own.data.appContext ?? "app",
    };
}

/** Reads the current stack's config through the Pulumi runtime and validates it. */
export function loadBootstrapConfig(): BootstrapConfig {
    return validateBootstrapConfig(pulumi.runtime.allConfig());
}
