/**
 * Config of the bootstrap project, read and validated in one place before any resource exists.
 *
 * Bad or missing values stop the program with a {@link BootstrapConfigError} whose message names
 * each key, the bad value and the `pulumi config set` command that fixes it.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { MAX_SUBJECT_BYTES, ciContexts, subjectOf } from "./githubFederation";

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
        // The federation trusts these numeric ids, which GitHub never reuses, not the names above
        // (google-github-actions/auth docs/SECURITY_CONSIDERATIONS.md).
        // A number where YAML or `--path` stored one ("456" and 456 alike).
        githubRepositoryId: z.preprocess(
            (v) => (typeof v === "number" ? String(v) : v),
            z.string(required("the repository's numeric id (gh api repos/<owner>/<name> --jq .id)")).regex(/^[1-9][0-9]{0,19}$/, "must be the repository's numeric id"),
        ),
        githubOwnerId: z.preprocess(
            (v) => (typeof v === "number" ? String(v) : v),
            z.string(required("the repository owner's numeric id (gh api repos/<owner>/<name> --jq .owner.id)")).regex(/^[1-9][0-9]{0,19}$/, "must be the owner's numeric id"),
        ),
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
        // Stacks pull requests may preview in the cloud, each only after a reviewer approved the run
        // in the GitHub environment preview-<stack>. [] turns cloud previews off.
        previewStacks: z.array(stackName).optional(),
        // Stacks whose GitHub environment needs a reviewer's approval before the deploy job runs.
        reviewedStacks: z.array(stackName).optional(),
        // Who approves: GitHub users or teams by numeric id (the environments API takes ids).
        reviewers: z
            .array(z.string().regex(/^(User|Team):[1-9][0-9]{0,19}$/, "each reviewer must be User:<id> or Team:<id> (numeric ids)"))
            .max(6, "GitHub takes at most six reviewers per environment")
            .default([]),
        // People (or groups) who may run the IAM step (iam/): they get its role in every stack project.
        iamAdmins: z
            .array(z.string().regex(/^(group|user):\S+@\S+$/, "each IAM admin must be user:<email> or group:<email> (a person, never a service account)"))
            .default([]),
        // One `pulumi up` of a new bootstrap stack over key rings and keys that already exist
        // (the single-deployer layout's): import them instead of creating them.
        adoptSecretsKeys: z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean("must be true or false")).default(false),
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
    githubRepositoryId: "123456789",
    githubOwnerId: "12345678",
    stacks: "staging",
    stackProjects: "acme-django-prod",
    registryReaders: "serviceAccount:gke-nodes@acme-django-prod.iam.gserviceaccount.com",
    location: "europe-west1",
    stateBucketName: "acme-prod-pulumi-state",
    keyRingName: "pulumi",
    artifactRepositoryId: "django",
    workloadIdentityPoolId: "github-actions",
    previewStacks: "staging",
    reviewedStacks: "production",
    reviewers: "Team:1234567",
    iamAdmins: "group:platform-admins@example.com",
    adoptSecretsKeys: "true",
    appContext: "src/web",
    stateAccessLogs: "false",
    "gcp:project": "acme-prod",
    "gcp:region": "europe-west1",
};

/** The validated, defaulted bootstrap configuration. */
export type BootstrapConfig = Omit<
    z.infer<typeof bootstrapSchema>,
    "location" | "stateBucketName" | "stackProjects" | "previewStacks" | "reviewedStacks" | "appContext"
> & {
    /** CI home project (`gcp:project`): state bucket, registry, workload identity pool, CI accounts. No stack deploys into it. */
    readonly project: string;
    /** The project of every stack (`stackProjects`): one per stack, none the home project. */
    readonly stackProjects: Readonly<Record<string, string>>;
    /** Default region of the provider (`gcp:region`). */
    readonly region: string;
    /** Location of the key ring, state bucket and image registry; defaults to `gcp:region`. */
    readonly location: string;
    /** State bucket name; defaults to `<project>-pulumi-state`. */
    readonly stateBucketName: string;
    /**
     * Stacks that pull requests may preview in the cloud (`pr.yml`), each through its own previewer
     * and only once a reviewer approved the run in the environment `preview-<stack>`. Defaults to
     * `[staging]` when there is a staging stack, else none.
     */
    readonly previewStacks: readonly string[];
    /** Stacks whose deploy environment requires a reviewer; defaults to `[production]` when there is one. */
    readonly reviewedStacks: readonly string[];
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

const LIST_KEYS = ["stacks", "registryReaders", "previewStacks", "reviewedStacks", "reviewers", "iamAdmins"];
const STRUCTURED_KEYS = new Set([...LIST_KEYS, "stackProjects"]);

function fixFor(key: string): string {
    if (LIST_KEYS.includes(key)) {
        return `pulumi config set --path '${key}[0]' ${EXAMPLES[key as keyof typeof EXAMPLES]}`;
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
        for (const key of ["previewStacks", "reviewedStacks"] as const) {
            for (const [i, stack] of (own.data[key] ?? []).entries()) {
                if (!own.data.stacks.includes(stack)) {
                    problems.push(
                        `${BOOTSTRAP_PROJECT}:${key}.${i}: names a stack that is not in stacks (${own.data.stacks.join(", ")}). ` +
                            `Fix: \`pulumi config set --path '${key}[${i}]' ${own.data.stacks[0]}\`.`,
                    );
                }
            }
        }
        // Every subject a service account is bound to must fit Google's limit, or that job's token
        // exchange fails ("The size of mapped attribute exceeds the 127 bytes limit").
        for (const context of Object.values(ciContexts(own.data.stacks, own.data.previewStacks ?? defaultPreviewStacks(own.data.stacks)))) {
            const subject = subjectOf(own.data.githubRepositoryId, context);
            if (Buffer.byteLength(subject) > MAX_SUBJECT_BYTES) {
                problems.push(
                    `${BOOTSTRAP_PROJECT}:stacks: the federated subject ${JSON.stringify(subject)} is ${Buffer.byteLength(subject)} bytes, ` +
                        `more than the ${MAX_SUBJECT_BYTES} Google accepts. Fix: a shorter stack name.`,
                );
            }
        }
        const home = raw["gcp:project"];
        const seen = new Map<string, string>();
        for (const stack of own.data.stacks) {
            const project = own.data.stackProjects[stack];
            if (project === undefined) {
                problems.push(
                    `${BOOTSTRAP_PROJECT}:stackProjects.${stack}: is required: the project stack ${stack} deploys into, which must not be the CI home project (got nothing). ` +
                        `Fix: \`pulumi config set --path stackProjects.${stack} acme-django-${stack}\`.`,
                );
            } else if (project === home) {
                problems.push(
                    `${BOOTSTRAP_PROJECT}:stackProjects.${stack}: is the CI home project ${JSON.stringify(project)} (gcp:project), which holds the state bucket, the registry and the CI identities; no stack may deploy into it. ` +
                        `Fix: \`pulumi config set --path stackProjects.${stack} acme-django-${stack}\` (a project of its own), or move the home project with \`pulumi config set gcp:project acme-django-ci\`.`,
                );
            } else if (seen.has(project)) {
                problems.push(
                    `${BOOTSTRAP_PROJECT}:stackProjects.${stack}: is ${JSON.stringify(project)}, the project of stack ${seen.get(project)} too; a deployer's project-wide rights would reach the other stack. ` +
                        `Fix: \`pulumi config set --path stackProjects.${stack} acme-django-${stack}\` (a project of its own).`,
                );
            }
            if (project !== undefined) {
                seen.set(project, stack);
            }
        }
        const needReviewers = [...(own.data.reviewedStacks ?? defaultReviewedStacks(own.data.stacks)), ...(own.data.previewStacks ?? defaultPreviewStacks(own.data.stacks)).map((s) => `preview-${s}`)];
        if (needReviewers.length > 0 && own.data.reviewers.length === 0) {
            problems.push(
                `${BOOTSTRAP_PROJECT}:reviewers: is required: who approves the jobs of the GitHub environments ${needReviewers.join(", ")} (got nothing). ` +
                    "Fix: `pulumi config set --path 'reviewers[0]' Team:<id>` with the id of `gh api orgs/<org>/teams/<team> --jq .id` (or User:<id> of `gh api users/<login> --jq .id`).",
            );
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
        stackProjects: Object.fromEntries(own.data.stacks.map((stack) => [stack, own.data.stackProjects[stack]])),
        location: own.data.location ?? region,
        stateBucketName: own.data.stateBucketName ?? `${project}-pulumi-state`,
        previewStacks: own.data.previewStacks ?? defaultPreviewStacks(own.data.stacks),
        reviewedStacks: own.data.reviewedStacks ?? defaultReviewedStacks(own.data.stacks),
        appContext: own.data.appContext ?? "app",
    };
}

/** Pull requests preview staging by default, when there is one. */
function defaultPreviewStacks(stacks: readonly string[]): string[] {
    return stacks.includes("staging") ? ["staging"] : [];
}

/** Production needs a reviewer by default, when there is one. */
function defaultReviewedStacks(stacks: readonly string[]): string[] {
    return stacks.includes("production") ? ["production"] : [];
}

/** Reads the current stack's config through the Pulumi runtime and validates it. */
export function loadBootstrapConfig(): BootstrapConfig {
    return validateBootstrapConfig(pulumi.runtime.allConfig());
}
