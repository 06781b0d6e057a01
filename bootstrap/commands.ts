/**
 * The commands the bootstrap prints for the people and workflows that use it. Pure functions,
 * shared with the tests and the workflow checks so the names cannot drift apart.
 */

/**
 * GitHub Actions repository variables the workflows read (`vars.<NAME>`), keyed by what they hold.
 * The bootstrap outputs the `gh variable set` commands that fill them; tests/workflows.test.ts
 * checks that the workflows read exactly these.
 */
export const GITHUB_VARIABLES = {
    workloadIdentityProvider: "GCP_WORKLOAD_IDENTITY_PROVIDER",
    /** The deployer: `deploy.yml` only (pushes to main and the stacks' environments). */
    serviceAccount: "GCP_SERVICE_ACCOUNT",
    /** The read-only previewer: `pr.yml` only. */
    previewServiceAccount: "GCP_PREVIEW_SERVICE_ACCOUNT",
    backendUrl: "PULUMI_BACKEND_URL",
    imageRepository: "IMAGE_REPOSITORY",
    /** Docker build context of the app image; `deploy.yml` falls back to `app` when it is unset. */
    appContext: "APP_CONTEXT",
} as const;

/** What each of {@link GITHUB_VARIABLES} is set to. */
export type GithubVariableValues = Record<keyof typeof GITHUB_VARIABLES, string>;

/** `pulumi login gs://<bucket>`. */
export function loginCommand(backendUrl: string): string {
    return `pulumi login ${backendUrl}`;
}

/** `pulumi stack init <stack> --secrets-provider gcpkms://…`, run in the main project's directory. */
export function stackInitCommand(stack: string, secretsProvider: string): string {
    return `pulumi stack init ${stack} --secrets-provider ${secretsProvider}`;
}

/** One `gh variable set NAME --repo owner/name --body value` per workflow variable. */
export function githubVariableCommands(repository: string, values: GithubVariableValues): string[] {
    return (Object.keys(GITHUB_VARIABLES) as (keyof typeof GITHUB_VARIABLES)[]).map(
        (key) => `gh variable set ${GITHUB_VARIABLES[key]} --repo ${repository} --body '${values[key]}'`,
    );
}
