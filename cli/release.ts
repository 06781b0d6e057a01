/**
 * release — a release, in order, for one stack:
 *
 *   1. build the app image for linux/amd64 (what GKE Autopilot nodes run, whatever the machine
 *      building it) and push it, tagged with the commit (`docker build --platform` / `docker push`);
 *   2. resolve the pushed image's digest and pin the stack to it (`pulumi config set image …@sha256:…`);
 *   3. `pulumi up` with the policy pack — the program itself then runs the migrate Job, then the
 *      collectstatic Job, then the rolling update of the web Deployment (it depends on both Jobs).
 *
 *   npx tsx cli/release.ts --stack staging --repository europe-west1-docker.pkg.dev/acme/django-platform/app
 *   npx tsx cli/release.ts --stack production --image europe-west1-docker.pkg.dev/acme/django-platform/app@sha256:… --yes
 *   npx tsx cli/release.ts --stack staging --repository … --tag 0a1b2c3 --dry-run
 *   npx tsx cli/release.ts --stack staging --repository … --context ../my-django-project
 *
 * `--image` deploys an image that is already pushed (CI builds once, then deploys the same digest
 * to staging and production). `--context` builds your own Django project (a directory with its
 * Dockerfile) instead of the reference app in `app/`. `--dry-run` prints the commands without
 * running anything. Pushing needs docker credentials for the registry, once per machine:
 * `gcloud auth configure-docker <region>-docker.pkg.dev`.
 * See docs/release.md for migrations that keep old pods working during the rollout.
 */
import { Command } from "commander";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";

/** Stands for the `<repository>@sha256:<digest>` that the digest step prints at run time. */
export const PUSHED_IMAGE = "<pushed-image@sha256:digest>";

/**
 * The platform every image is built for. GKE Autopilot schedules pods on x86-64 nodes unless a
 * workload asks for Arm, and this program does not; an image built for the builder's own
 * architecture (arm64 on Apple Silicon) crashes there with `exec format error`.
 */
export const BUILD_PLATFORM = "linux/amd64";

/** The build context when `--context` is not given: the reference app. */
export const DEFAULT_CONTEXT = "app";

/**
 * The second, named build context every build gets: the Django settings helper of this repository,
 * which app/Dockerfile copies in (`COPY --from=django-platform-settings`). A project whose
 * Dockerfile does not use it is unaffected; a project that installs the helper with pip instead
 * needs no copy of it.
 */
export const SETTINGS_PACKAGE_CONTEXT = "django-platform-settings=python/django-platform-settings";

/**
 * The credentials file google-github-actions/auth writes into the workspace root
 * (`gha-creds-<random>.json`, README of the action): a build context that holds it would copy a
 * live token into the image.
 */
const CREDENTIALS_FILE = /^gha-creds-.*\.json$/;

/**
 * The credentials files `docker build <context>` would send to the builder: those in the context
 * directory itself, and those in the project directory when the context contains it (`.` or a
 * parent of the repository).
 */
export function credentialsInContext(projectDir: string, context: string): string[] {
    const contextDir = resolve(projectDir, context);
    const fromContext = relative(contextDir, resolve(projectDir));
    const containsProject = fromContext === "" || (!fromContext.startsWith("..") && !isAbsolute(fromContext));
    const dirs = [...new Set([contextDir, ...(containsProject ? [resolve(projectDir)] : [])])];
    return dirs.flatMap((dir) => readdirSync(dir).filter((name) => CREDENTIALS_FILE.test(name)).map((name) => join(dir, name)));
}

const DIGEST_REF = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+@sha256:[a-f0-9]{64}$/;
const REPOSITORY = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const STACK = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** What the user asked for (the command-line options). */
export interface ReleaseOptions {
    readonly stack: string;
    /** An already-pushed image pinned by digest; skips the build. */
    readonly image?: string;
    /** Image repository without tag; default `$IMAGE_REPOSITORY`. */
    readonly repository?: string;
    /** Image tag; default the current git commit of the build context. */
    readonly tag?: string;
    /** Docker build context: a directory with a Dockerfile, relative to the project directory. @default "app" */
    readonly context?: string;
    /** `pulumi up --yes` (no prompt), for CI. */
    readonly yes?: boolean;
}

/** What the plan needs from its surroundings; tests pass fakes. */
export interface ReleaseEnvironment {
    /** Directory of the main Pulumi project (with `Pulumi.<stack>.yaml`). */
    readonly projectDir: string;
    /** Environment variables (for `IMAGE_REPOSITORY`). */
    readonly env: Readonly<Record<string, string | undefined>>;
    /**
     * The current commit of the git work tree that holds `context` (the build context, relative to
     * `projectDir`), or undefined when that work tree has uncommitted changes or is not in git.
     */
    readonly cleanCommit: (context: string) => string | undefined;
}

/** One command of the release. */
export interface ReleaseStep {
    readonly title: string;
    readonly argv: readonly string[];
    /** This step prints the pushed image's `repo@sha256:…` reference for the later steps. */
    readonly resolvesImage?: boolean;
    /** Printed after the failure message when this step fails: the usual cause and its fix. */
    readonly hint?: string;
}

/** A bad option (exit code 2) or a failed step (exit code 1); the message says what to do. */
export class ReleaseError extends Error {
    constructor(message: string, readonly exitCode: 1 | 2 = 2) {
        super(message);
        this.name = "ReleaseError";
    }
}

/** Validates the options and returns the commands of the release, in order. Pure apart from `environment`. */
export function planRelease(options: ReleaseOptions, environment: ReleaseEnvironment): ReleaseStep[] {
    const { stack } = options;
    if (!STACK.test(stack)) {
        throw new ReleaseError(`--stack "${stack}" is not a stack name. Fix: --stack staging (letters, digits, ".", "_", "-").`);
    }
    if (!existsSync(join(environment.projectDir, `Pulumi.${stack}.yaml`))) {
        throw new ReleaseError(`--stack ${stack}: Pulumi.${stack}.yaml not found in ${environment.projectDir}. Fix: create the stack first (docs/bootstrap.md), or pick an existing one.`);
    }
    const deploy = (image: string): ReleaseStep[] => [
        { title: `pin ${stack} to the image digest`, argv: ["pulumi", "config", "set", "--stack", stack, "image", image] },
        {
            title: "pulumi up: migrate Job → collectstatic Job → rolling update",
            argv: ["pulumi", "up", "--stack", stack, "--policy-pack", "policy", ...(options.yes ? ["--yes"] : [])],
        },
    ];

    if (options.image !== undefined) {
        if (options.repository !== undefined || options.tag !== undefined || options.context !== undefined) {
            throw new ReleaseError("--image deploys an image that is already pushed; it cannot be combined with --repository, --tag or --context. Fix: drop --image to build, or drop --repository/--tag/--context.");
        }
        if (!DIGEST_REF.test(options.image)) {
            throw new ReleaseError(`--image "${options.image}" is not pinned by digest. Fix: --image <repository>@sha256:<64 hex digits> (tags can be moved; digests cannot).`);
        }
        return deploy(options.image);
    }

    const repository = options.repository ?? environment.env.IMAGE_REPOSITORY;
    if (repository === undefined || repository === "") {
        throw new ReleaseError("no image repository. Fix: --repository <region>-docker.pkg.dev/<project>/<repository>/app, or set IMAGE_REPOSITORY (the bootstrap prints it as imageRepository).");
    }
    if (!REPOSITORY.test(repository)) {
        throw new ReleaseError(`--repository "${repository}" must be an image name without tag or digest, e.g. europe-west1-docker.pkg.dev/acme/django-platform/app.`);
    }
    const context = options.context ?? DEFAULT_CONTEXT;
    if (!existsSync(resolve(environment.projectDir, context, "Dockerfile"))) {
        throw new ReleaseError(`--context ${context}: no Dockerfile in ${resolve(environment.projectDir, context)}. Fix: --context <the directory of your Django project's Dockerfile> (default: ${DEFAULT_CONTEXT}, the reference app).`);
    }
    const credentials = credentialsInContext(environment.projectDir, context);
    if (credentials.length > 0) {
        throw new ReleaseError(`--context ${context}: the build context would include ${credentials.join(", ")}, a Google credentials file (google-github-actions/auth writes one into the workspace). Fix: build a directory that does not hold it (the default, --context ${DEFAULT_CONTEXT}, does not), or delete the file.`);
    }
    const tag = options.tag ?? environment.cleanCommit(context);
    if (tag === undefined) {
        throw new ReleaseError("the work tree has uncommitted changes, so the commit SHA would not describe the image. Fix: commit (or stash) them, or pass --tag <tag> explicitly.");
    }
    if (!TAG.test(tag) || tag === "latest") {
        throw new ReleaseError(`--tag "${tag}" is not a pinned Docker tag. Fix: use the commit SHA or a version such as 1.4.2 (never latest).`);
    }
    const tagged = `${repository}:${tag}`;
    const host = repository.split("/")[0];
    return [
        { title: `build the app image for ${BUILD_PLATFORM}`, argv: ["docker", "build", "--platform", BUILD_PLATFORM, "--build-context", SETTINGS_PACKAGE_CONTEXT, "--tag", tagged, context] },
        {
            title: "push it",
            argv: ["docker", "push", tagged],
            hint: `If the registry said "unauthorized", "denied" or "Unauthenticated request", docker has no credentials for ${host}: run \`gcloud auth configure-docker ${host}\` once on this machine (and \`gcloud auth login\` if needed), then release again. Pushing needs roles/artifactregistry.writer on the repository.`,
        },
        {
            title: "resolve the pushed digest",
            argv: ["docker", "image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", tagged],
            resolvesImage: true,
        },
        ...deploy(PUSHED_IMAGE),
    ];
}

/** Picks `<repository>@sha256:…` out of `docker image inspect`'s RepoDigests lines. */
export function pickDigest(stdout: string, repository: string): string {
    const ref = stdout.split(/\s+/).find((line) => line.startsWith(`${repository}@sha256:`));
    if (!ref || !DIGEST_REF.test(ref)) {
        throw new ReleaseError(`docker reported no digest for ${repository} (got ${JSON.stringify(stdout.trim())}). Fix: check that \`docker push\` succeeded and the registry is ${repository.split("/")[0]}.`, 1);
    }
    return ref;
}

/** Shell-quotes one argument for display. */
function quote(arg: string): string {
    return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Renders a step as the command line a person would type. */
export function commandLine(step: ReleaseStep): string {
    return step.argv.map(quote).join(" ");
}

/** Runs the steps in order, stopping at the first failure. */
function execute(steps: readonly ReleaseStep[], projectDir: string): void {
    let image = PUSHED_IMAGE;
    steps.forEach((step, i) => {
        const argv = step.argv.map((a) => (a === PUSHED_IMAGE ? image : a));
        console.log(`\n[${i + 1}/${steps.length}] ${step.title}\n$ ${commandLine({ ...step, argv })}`);
        const result = spawnSync(argv[0], argv.slice(1), { cwd: projectDir, stdio: step.resolvesImage ? ["inherit", "pipe", "inherit"] : "inherit", encoding: "utf8" });
        if (result.error) {
            throw new ReleaseError(`${argv[0]} could not be started (${result.error.message}). Fix: install it, or build elsewhere and pass --image <repository>@sha256:….`, 1);
        }
        if (result.status !== 0) {
            throw new ReleaseError(`step ${i + 1} (${step.title}) failed with exit code ${result.status}; nothing after it ran.${step.hint ? `\n${step.hint}` : ""}`, 1);
        }
        if (step.resolvesImage) {
            image = pickDigest(result.stdout, argv[argv.length - 1].replace(/:[^:/]+$/, ""));
            console.log(image);
        }
    });
}

function gitCleanCommit(projectDir: string): string | undefined {
    const git = (...args: string[]) => spawnSync("git", args, { cwd: projectDir, encoding: "utf8" });
    const status = git("status", "--porcelain");
    if (status.status !== 0 || status.stdout.trim() !== "") {
        return undefined;
    }
    const head = git("rev-parse", "HEAD");
    return head.status === 0 ? head.stdout.trim() : undefined;
}

/** Parses the command line (throws commander's error on a usage error or `--help`). */
export function parseReleaseArgs(argv: readonly string[]): ReleaseOptions & { readonly dryRun: boolean } {
    return new Command()
        .name("release")
        .description("Build, push and deploy the app image to one stack, by digest.")
        .requiredOption("-s, --stack <name>", "stack to release to (Pulumi.<name>.yaml)")
        .option("--image <repository@sha256:digest>", "deploy this already-pushed image; skips the build")
        .option("--repository <name>", "image repository without tag (default: $IMAGE_REPOSITORY)")
        .option("--tag <tag>", "image tag (default: the build context's current commit; its work tree must be clean)")
        .option("--context <dir>", `docker build context: your Django project's directory with its Dockerfile (default: ${DEFAULT_CONTEXT}, the reference app)`)
        .option("--yes", "run pulumi up without the confirmation prompt (CI)", false)
        .option("--dry-run", "print the commands instead of running them", false)
        .exitOverride()
        .parse(argv, { from: "user" })
        .opts<ReleaseOptions & { dryRun: boolean }>();
}

/** The command line: parses options, plans, then prints (`--dry-run`) or runs. */
export function main(argv: readonly string[], projectDir = process.cwd()): number {
    const opts = parseReleaseArgs(argv);
    try {
        const steps = planRelease(opts, { projectDir, env: process.env, cleanCommit: (context) => gitCleanCommit(resolve(projectDir, context)) });
        if (opts.dryRun) {
            steps.forEach((step, i) => console.log(`${i + 1}. ${step.title}\n   ${commandLine(step)}`));
            return 0;
        }
        execute(steps, projectDir);
        return 0;
    } catch (err) {
        if (err instanceof ReleaseError) {
            console.error(`release: ${err.message}`);
            return err.exitCode;
        }
        throw err;
    }
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (err) {
        // commander has already printed its usage error.
        process.exitCode = (err as { exitCode?: number }).exitCode ?? 1;
    }
}
