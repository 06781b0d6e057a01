/**
 * The commands the bootstrap prints for the people and workflows that use it. Pure functions,
 * shared with the tests and the workflow checks so the names cannot drift apart.
 */

/**
 * GitHub Actions repository variables the workflows read (`vars.<NAME>`) that hold one value each.
 * The per-stack service accounts have variables of their own ({@link deployServiceAccountVariable},
 * {@link previewServiceAccountVariable}). The bootstrap outputs the `gh variable set` commands that
 * fill them all; tests/workflows.test.ts checks that the workflows read exactly these.
 */
export const GITHUB_VARIABLES = {
    workloadIdentityProvider: "GCP_WORKLOAD_IDENTITY_PROVIDER",
    /** The image pusher: `deploy.yml`'s image job only. */
    imageServiceAccount: "GCP_IMAGE_SA",
    backendUrl: "PULUMI_BACKEND_URL",
    imageRepository: "IMAGE_REPOSITORY",
    /** Docker build context of the app image; `deploy.yml` falls back to `app` when it is unset. */
    appContext: "APP_CONTEXT",
} as const;

/** The variable suffix of a stack name: `staging` → `STAGING`, `eu-west` → `EU_WEST`. */
function suffix(stack: string): string {
    return stack.toUpperCase().replace(/-/g, "_");
}

/** The variable holding a stack's deployer (`deploy.yml`, the job in that stack's environment). */
export function deployServiceAccountVariable(stack: string): string {
    return `GCP_DEPLOY_SA_${suffix(stack)}`;
}

/** The variable holding a stack's previewer (`pr.yml`, the job in `preview-<stack>`). */
export function previewServiceAccountVariable(stack: string): string {
    return `GCP_PREVIEW_SA_${suffix(stack)}`;
}

/** What each variable is set to. */
export interface GithubVariableValues extends Record<keyof typeof GITHUB_VARIABLES, string> {
    /** Each stack's deployer email. */
    readonly deployServiceAccounts: Readonly<Record<string, string>>;
    /** Each previewed stack's previewer email. */
    readonly previewServiceAccounts: Readonly<Record<string, string>>;
}

/** `pulumi login gs://<bucket>`. */
export function loginCommand(backendUrl: string): string {
    return `pulumi login ${backendUrl}`;
}

/** `pulumi stack init <stack> --secrets-provider gcpkms://…`, run in the main project's directory. */
export function stackInitCommand(stack: string, secretsProvider: string): string {
    return `pulumi stack init ${stack} --secrets-provider ${secretsProvider}`;
}

/**
 * The IAM step's stack of a main stack (same name, in `iam/`). It holds no secret values, so a
 * passphrase provider, like the bootstrap's own stack.
 */
export function iamStackInitCommand(stack: string): string {
    return `pulumi -C iam stack init ${stack} --secrets-provider passphrase`;
}

/** One `gh variable set NAME --repo owner/name --body value` per workflow variable. */
export function githubVariableCommands(repository: string, values: GithubVariableValues): string[] {
    const set = (name: string, value: string) => `gh variable set ${name} --repo ${repository} --body '${value}'`;
    return [
        ...(Object.keys(GITHUB_VARIABLES) as (keyof typeof GITHUB_VARIABLES)[]).map((key) => set(GITHUB_VARIABLES[key], values[key])),
        ...Object.entries(values.deployServiceAccounts).map(([stack, email]) => set(deployServiceAccountVariable(stack), email)),
        ...Object.entries(values.previewServiceAccounts).map(([stack, email]) => set(previewServiceAccountVariable(stack), email)),
    ];
}

/** A GitHub environment the workflows use, and how it is protected. */
export interface EnvironmentSettings {
    readonly name: string;
    /** `User:<id>`/`Team:<id>` who must approve a job before it starts; none: it starts at once. */
    readonly reviewers: readonly string[];
    /** Only jobs of runs on `main` may use it (deploys); previews run on pull request refs. */
    readonly mainOnly: boolean;
}

/**
 * The `gh api` calls that create or update an environment (REST "Create or update an environment":
 * `PUT /repos/{owner}/{repo}/environments/{environment_name}` with `reviewers` [{type, id}],
 * `prevent_self_review` and `deployment_branch_policy`) and, for `mainOnly`, allow the `main` branch
 * only ("Create a deployment branch policy": `POST …/environments/{name}/deployment-branch-policies`
 * with `name` and `type`). Printed, not run: the bootstrap runs with Google credentials, and an
 * environment needs a GitHub token with administration rights on the repository.
 */
export function githubEnvironmentCommands(repository: string, env: EnvironmentSettings): string[] {
    const body: Record<string, unknown> = {
        ...(env.reviewers.length > 0
            ? { reviewers: env.reviewers.map((r) => ({ type: r.split(":")[0], id: Number(r.split(":")[1]) })), prevent_self_review: true }
            : { reviewers: [] }),
        deployment_branch_policy: env.mainOnly ? { protected_branches: false, custom_branch_policies: true } : null,
    };
    return [
        `echo '${JSON.stringify(body)}' | gh api --method PUT repos/${repository}/environments/${env.name} --input -`,
        ...(env.mainOnly ? [`gh api --method POST repos/${repository}/environments/${env.name}/deployment-branch-policies -f name=main -f type=branch`] : []),
    ];
}
