/**
 * The GitHub Actions workflows, checked offline: every file against the GitHub workflow schema
 * (@action-validator/core), plus the invariants that keep CI keyless and gated — OIDC instead of
 * keys, one service account per job (the image pusher, each stack's deployer in its environment,
 * a pull request only as the approved read-only previewer), gcloud's GKE auth plugin wherever
 * Pulumi reaches the cluster, the policy pack on every preview, a manual gate before production,
 * one digest for both stacks — and that every command they run exists in this repository.
 * Which runs may become which service account is checked in tests/trust-reachability.test.ts.
 *
 * The supply chain of the jobs (docs/release.md, "CI hardening"): every third-party action pinned
 * by commit SHA, the Pulumi CLI, gcloud and BuildKit pinned, `id-token: write` only where a job
 * signs in to Google Cloud and no install script or restored cache in such a job, no credentials
 * file where a build context can pick it up, no write permission in a job that runs the pull
 * request's code (the comment job is run here with a fake GitHub), Dependabot over every
 * manifest, CODEOWNERS over what decides CI's permissions.
 */
import assert from "node:assert/strict";
import { validateWorkflow } from "@action-validator/core";
import Ajv from "ajv";
import { minimatch } from "minimatch";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { SETTINGS_PACKAGE_CONTEXT } from "../cli/release";
import { GITHUB_VARIABLES, deployServiceAccountVariable, previewServiceAccountVariable } from "../bootstrap/commands";
import { bootstrapSchema } from "../bootstrap/config";
import { main as preflightMain } from "../cli/preflight";
import { startFakeGoogle } from "./lib/fakeGoogle";
import { CI_DIGEST_IMAGE, CI_STATE_BUCKET, ciWorld } from "./lib/preflightChecks";

const ROOT = join(__dirname, "..");
const DIR = join(ROOT, ".github", "workflows");

interface Step {
    readonly name?: string;
    readonly id?: string;
    readonly if?: string;
    readonly uses?: string;
    readonly run?: string;
    readonly shell?: string;
    readonly with?: Record<string, unknown>;
    readonly env?: Record<string, string>;
}
interface Job {
    readonly if?: string;
    readonly needs?: string | string[];
    readonly environment?: string | { name: string };
    readonly permissions?: Record<string, string>;
    readonly concurrency?: string | { group: string };
    readonly outputs?: Record<string, string>;
    readonly steps: Step[];
}
interface Workflow {
    readonly on: Record<string, unknown>;
    readonly permissions?: Record<string, string>;
    readonly jobs: Record<string, Job>;
}

/** The workflows that reach Google Cloud; any other workflow file gets the generic checks only. */
const DEPLOYING = ["pr.yml", "deploy.yml"];
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const text = (file: string) => readFileSync(join(DIR, file), "utf8");
const load = (file: string) => parse(text(file)) as Workflow;
const jobsOf = (file: string) => Object.entries(load(file).jobs);
const usesAction = (step: Step, action: string) => step.uses?.split("@")[0] === action;
/** Workflows a pull request can trigger: their code is whatever the branch says. */
const PR_EVENTS = ["pull_request", "pull_request_target"];
const triggeredByPullRequests = (file: string) => {
    const on = load(file).on as unknown;
    const events = typeof on === "string" ? [on] : Array.isArray(on) ? (on as string[]) : Object.keys(on as object);
    return events.some((e) => PR_EVENTS.includes(e));
};
const vars = (name: string) => `\${{ vars.${name} }}`;
/** The stacks of the shipped stack files (`Pulumi.<stack>.yaml`). */
const STACKS = readdirSync(ROOT).flatMap((f) => /^Pulumi\.([a-z][a-z0-9-]*)\.yaml$/.exec(f)?.[1] ?? []);
/** Every variable the bootstrap prints for the shipped stacks (pull requests preview staging). */
const PRINTED = new Set<string>([...Object.values(GITHUB_VARIABLES), ...STACKS.map(deployServiceAccountVariable), previewServiceAccountVariable("staging")]);
const environmentOf = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);
/**
 * The one account a job may authenticate as: in a pull request workflow, only a stack's previewer
 * and only from that stack's preview environment; elsewhere the image pusher without environment
 * and a stack's deployer in the environment named after it.
 */
function accountFor(file: string, job: Job): string | undefined {
    const env = environmentOf(job);
    if (triggeredByPullRequests(file)) {
        const stack = env?.startsWith("preview-") ? env.slice("preview-".length) : undefined;
        return stack ? vars(previewServiceAccountVariable(stack)) : undefined;
    }
    return env ? vars(deployServiceAccountVariable(env)) : vars(GITHUB_VARIABLES.imageServiceAccount);
}
const varsRead = (file: string) => new Set([...text(file).matchAll(/\bvars\.([A-Z0-9_]+)/g)].map((m) => m[1]));
/** A step that runs Pulumi (CLI install included) or the release command, which runs `pulumi up`. */
const runsPulumi = (step: Step) => usesAction(step, "pulumi/actions") || /\bpulumi\s|cli\/release\.ts/.test(step.run ?? "");

test("pr.yml and deploy.yml exist (every workflow file is checked below)", () => {
    assert.ok(files.includes("pr.yml") && files.includes("deploy.yml"), files.join(", "));
});

describe("schema", () => {
    for (const file of files) {
        test(`${file} is a valid GitHub workflow`, () => {
            assert.deepEqual(validateWorkflow(text(file)).errors, []);
        });
    }

    test("the validator rejects a broken workflow (misspelt runs-on, step without run or uses)", () => {
        const broken = "on: push\njobs:\n  build:\n    runs-onn: ubuntu-latest\n    steps:\n      - name: nothing to do\n";
        const errors = validateWorkflow(broken).errors;
        assert.ok(errors.length > 0);
        assert.match(JSON.stringify(errors), /Additional property 'runs-onn' is not allowed/);
    });
});

describe("keyless cloud access", () => {
    for (const file of files) {
        test(`${file}: every job that authenticates to Google may request an OIDC token, and uses WIF`, () => {
            const workflow = load(file);
            const authJobs = jobsOf(file).filter(([, job]) => job.steps.some((s) => usesAction(s, "google-github-actions/auth")));
            assert.ok(authJobs.length > 0 || !DEPLOYING.includes(file), `${file} never authenticates to Google`);
            for (const [name, job] of authJobs) {
                const permissions = job.permissions ?? workflow.permissions ?? {};
                assert.equal(permissions["id-token"], "write", `${file} job ${name} needs id-token: write`);
                for (const step of job.steps.filter((s) => usesAction(s, "google-github-actions/auth"))) {
                    assert.equal(step.with?.workload_identity_provider, "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}");
                    // Pull request workflows run the branch's code: at most an approved previewer.
                    const allowed = accountFor(file, job);
                    assert.ok(allowed !== undefined && step.with?.service_account === allowed, `${file} job ${name} (environment ${String(environmentOf(job))}) authenticates as ${String(step.with?.service_account)}; allowed: ${String(allowed ?? "nothing")}`);
                    assert.equal(step.with?.credentials_json, undefined);
                }
            }
        });

        if (triggeredByPullRequests(file)) {
            test(`${file}: a pull request workflow never names a deployer or the image pusher`, () => {
                const named = [...varsRead(file)].filter((v) => v === GITHUB_VARIABLES.imageServiceAccount || STACKS.some((s) => v === deployServiceAccountVariable(s)));
                assert.deepEqual(named, [], `${file} reads ${named.join(", ")}`);
            });
        }

        test(`${file}: every job that runs Pulumi installs gke-gcloud-auth-plugin after auth and before Pulumi`, () => {
            for (const [name, job] of jobsOf(file)) {
                const first = job.steps.findIndex(runsPulumi);
                if (first < 0) {
                    continue;
                }
                const auth = job.steps.findIndex((s) => usesAction(s, "google-github-actions/auth"));
                const gcloud = job.steps.findIndex((s) => usesAction(s, "google-github-actions/setup-gcloud"));
                assert.ok(gcloud >= 0, `${file} job ${name} runs Pulumi without google-github-actions/setup-gcloud`);
                const step = job.steps[gcloud];
                const components = String(step.with?.install_components ?? "").split(",").map((c) => c.trim());
                assert.ok(components.includes("gke-gcloud-auth-plugin"), `${file} job ${name}: install_components is ${JSON.stringify(step.with?.install_components)}`);
                // setup-gcloud logs gcloud in with the credentials file the auth step wrote (GOOGLE_GHA_CREDS_PATH).
                assert.ok(auth >= 0 && auth < gcloud, `${file} job ${name}: setup-gcloud must come after google-github-actions/auth`);
                assert.ok(gcloud < first, `${file} job ${name}: setup-gcloud must come before the first Pulumi step`);
            }
        });

        test(`${file}: no service account keys or long-lived secrets`, () => {
            assert.doesNotMatch(text(file), /credentials_json|service_account_key|GOOGLE_CREDENTIALS|secrets\.GCP|PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE/);
        });

        test(`${file}: the repository variables it reads are the ones the bootstrap prints`, () => {
            const used = varsRead(file);
            assert.ok(used.size > 0 || !DEPLOYING.includes(file), `${file} reads no repository variables`);
            for (const name of used) {
                assert.ok(PRINTED.has(name), `${file} reads vars.${name}, which bootstrap's githubVariableCommands does not set`);
            }
        });

    }
});

test("the bootstrap prints no repository variable that no workflow reads", () => {
    const read = new Set(files.flatMap((f) => [...varsRead(f)]));
    assert.deepEqual([...PRINTED].filter((name) => !read.has(name)), []);
});

test("the plugin the workflows install is the one the kubeconfig runs", () => {
    const cluster = readFileSync(join(ROOT, "components", "cluster.ts"), "utf8");
    assert.match(cluster, /command: "gke-gcloud-auth-plugin"/);
});

describe("pr.yml", () => {
    const workflow = load("pr.yml");

    test("runs on pull requests, with no permission unless a job asks for it", () => {
        assert.ok("pull_request" in workflow.on);
        assert.deepEqual(workflow.permissions, {});
    });

    test("tests with the README's install and test commands", () => {
        const runs = workflow.jobs.test.steps.filter((s) => s.run).map((s) => s.run?.trim());
        assert.ok(runs.includes("bash maint/install-deps.sh") && runs.includes("npm test") && runs.includes("npm run reliability"), runs.join("\n"));
        const readme = readFileSync(join(ROOT, "README.md"), "utf8");
        for (const command of ["bash maint/install-deps.sh", "npm test", "npm run reliability"]) {
            assert.ok(readme.includes(command), `README.md does not document \`${command}\`, which pr.yml runs`);
        }
    });

    test("previews as staging's read-only previewer, in the reviewed environment preview-staging", () => {
        const auth = workflow.jobs.preview.steps.find((s) => usesAction(s, "google-github-actions/auth"));
        assert.equal(auth?.with?.service_account, vars(previewServiceAccountVariable("staging")));
        assert.equal(environmentOf(workflow.jobs.preview), "preview-staging");
        // No other job of the pull request workflow authenticates.
        const authenticating = Object.entries(workflow.jobs).filter(([, job]) => job.steps.some((s) => usesAction(s, "google-github-actions/auth"))).map(([n]) => n);
        assert.deepEqual(authenticating, ["preview"]);
    });

    test("previews staging with the policy pack, without refresh, and keeps the output for the comment job", () => {
        const preview = workflow.jobs.preview;
        assert.deepEqual(preview.permissions, { contents: "read", "id-token": "write" });
        const step = preview.steps.find((s) => s.id === "preview");
        assert.ok(step?.run, "no step with id preview");
        // The previewer may read only what a plain preview reads; --refresh would need more (docs/bootstrap.md).
        const { argv } = runPreviewStep(step, 0);
        assert.deepEqual(argv, ["preview", "--stack", "staging", "--policy-pack", "policy", "--diff", "--color", "never", "--non-interactive"]);
        assert.ok(existsSync(join(ROOT, "policy", "PulumiPolicy.yaml")), "the policy pack directory policy/ has no PulumiPolicy.yaml");
        assert.ok(existsSync(join(ROOT, "Pulumi.staging.yaml")));
        const upload = preview.steps.find((s) => usesAction(s, "actions/upload-artifact"));
        assert.equal(upload?.with?.name, "preview-output");
        assert.equal(upload?.with?.path, "${{ runner.temp }}/preview/preview.txt");
        // Uploaded when the preview fails too (policy violations are what reviewers need to see).
        assert.equal(upload?.if, "${{ !cancelled() }}");
        assert.ok(preview.steps.indexOf(step) < preview.steps.indexOf(upload as Step));
    });

    test("the preview step writes what pulumi prints to the artifact file and fails when pulumi fails", () => {
        const step = workflow.jobs.preview.steps.find((s) => s.id === "preview") as Step;
        const passed = runPreviewStep(step, 0);
        assert.equal(passed.status, 0, passed.stderr);
        assert.equal(passed.artifact, "Previewing update (staging)\n+ 1 to create\n");
        // Exit 255 is what `pulumi preview` returns for mandatory policy violations.
        const failed = runPreviewStep(step, 255);
        assert.notEqual(failed.status, 0);
        assert.equal(failed.artifact, "Previewing update (staging)\n+ 1 to create\n");
    });
});

/** Runs the preview job's `pulumi preview` step with bash as GitHub does, a fake `pulumi` on PATH. */
function runPreviewStep(step: Step, exitCode: number): { status: number; argv: string[]; artifact: string; stderr: string } {
    assert.equal(step.shell, "bash", "shell: bash (bash -eo pipefail), so a failed preview fails the step");
    const dir = mkdtempSync(join(tmpdir(), "preview-step-"));
    try {
        mkdirSync(join(dir, "bin"));
        writeFileSync(join(dir, "bin", "pulumi"), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "$FAKE_ARGV"\nprintf 'Previewing update (staging)\\n+ 1 to create\\n'\nexit ${exitCode}\n`, { mode: 0o755 });
        const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run as string], {
            cwd: dir,
            env: { PATH: `${join(dir, "bin")}:${process.env.PATH}`, RUNNER_TEMP: join(dir, "temp"), FAKE_ARGV: join(dir, "argv") },
            encoding: "utf8",
        });
        const artifact = join(dir, "temp", "preview", "preview.txt");
        return {
            status: result.status ?? -1,
            argv: existsSync(join(dir, "argv")) ? readFileSync(join(dir, "argv"), "utf8").trim().split("\n") : [],
            artifact: existsSync(artifact) ? readFileSync(artifact, "utf8") : "",
            stderr: result.stderr,
        };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

describe("deploy.yml", () => {
    const workflow = load("deploy.yml");
    const { image, staging, production } = workflow.jobs;
    const environment = environmentOf;
    const releaseRun = (job: Job) => job.steps.find((s) => s.run?.includes("cli/release.ts"));

    test("runs on pushes to main", () => {
        assert.deepEqual((workflow.on.push as { branches: string[] }).branches, ["main"]);
    });

    test("builds once, tagged with the commit, and passes the digest reference on", () => {
        const build = image.steps.find((s) => usesAction(s, "docker/build-push-action"));
        assert.equal(build?.with?.tags, "${{ vars.IMAGE_REPOSITORY }}:${{ github.sha }}");
        assert.equal(build?.with?.push, true);
        assert.equal(image.outputs?.image, "${{ steps.pushed.outputs.image }}");
        const pushed = image.steps.find((s) => s.id === "pushed");
        // The digest of this run's build, or of an earlier attempt's push (re-runs, below).
        assert.equal(pushed?.env?.DIGEST, "${{ steps.existing.outputs.digest || steps.build.outputs.digest }}");
        assert.match(pushed?.run ?? "", /image=\$\{IMAGE_REPOSITORY\}@\$\{DIGEST\}/);
    });

    test("builds the directory APP_CONTEXT names (default app), checked first, for linux/amd64", () => {
        const build = image.steps.find((s) => usesAction(s, "docker/build-push-action"));
        assert.equal(build?.with?.context, "${{ steps.context.outputs.dir }}");
        const step = image.steps.find((s) => s.id === "context");
        assert.equal(step?.env?.APP_CONTEXT, `\${{ vars.${GITHUB_VARIABLES.appContext} }}`);
        assert.ok(image.steps.indexOf(step as Step) < image.steps.indexOf(build as Step));
        // Unset: the reference app, which has its Dockerfile.
        assert.deepEqual(runContextStep(step as Step, ""), { status: 0, dir: "app" });
        assert.equal(build?.with?.file, undefined, "the Dockerfile is the context's own ({context}/Dockerfile)");
        assert.equal(build?.with?.platforms, "linux/amd64");
        // app/Dockerfile copies the settings helper from this named context, as cli/release.ts passes it.
        assert.equal(build?.with?.["build-contexts"], SETTINGS_PACKAGE_CONTEXT);
    });

    test("APP_CONTEXT: a directory below the repository root with a Dockerfile, the bootstrap's rule; never the root or a path out of it", () => {
        const step = image.steps.find((s) => s.id === "context") as Step;
        const appContext = bootstrapSchema.shape.appContext;
        const cases = ["app", "src/web", "my_app/web-1", ".", "./", "./app", "..", "../app", "app/..", "app/../..", "/app", "/", "app//web", ".hidden", "app/", "app\n/", "app web", "$(id)"];
        for (const value of cases) {
            const bootstrapAccepts = appContext.safeParse(value).success;
            const result = runContextStep(step, value, ["app", "src/web", "my_app/web-1", ".hidden"]);
            assert.equal(result.status === 0, bootstrapAccepts, `APP_CONTEXT=${JSON.stringify(value)}: the workflow ${result.status === 0 ? "accepts" : "refuses"} it, the bootstrap ${bootstrapAccepts ? "accepts" : "refuses"} it`);
            if (bootstrapAccepts) {
                assert.equal(result.dir, value);
            }
        }
        // The root can never be the context, even if it had a Dockerfile.
        assert.notEqual(runContextStep(step, ".", ["."]).status, 0);
        // A directory without a Dockerfile is refused before the build.
        assert.notEqual(runContextStep(step, "docs").status, 0);
    });

    test("staging and production deploy the same digest with the release command", () => {
        for (const [stack, job] of [["staging", staging], ["production", production]] as const) {
            const step = releaseRun(job);
            assert.equal(step?.run, `npx tsx cli/release.ts --stack ${stack} --image "$IMAGE" --yes`);
            assert.equal(step?.env?.IMAGE, "${{ needs.image.outputs.image }}");
        }
    });

    test("each deploy runs the preflight of its stack on the same image, after cloud auth and before the release", () => {
        for (const [stack, job] of [["staging", staging], ["production", production]] as const) {
            const at = (pred: (s: Step) => boolean) => job.steps.findIndex(pred);
            const preflight = at((s) => s.run?.startsWith("npm run preflight") ?? false);
            assert.ok(preflight >= 0, `${stack}: no preflight step`);
            assert.equal(job.steps[preflight].run, `npm run preflight -- --stack ${stack} --image "$IMAGE"`);
            assert.equal(job.steps[preflight].env?.IMAGE, "${{ needs.image.outputs.image }}");
            assert.ok(at((s) => usesAction(s, "google-github-actions/setup-gcloud")) < preflight, `${stack}: preflight needs gcloud's credentials`);
            assert.ok(preflight < at((s) => s.run?.includes("cli/release.ts") ?? false), `${stack}: preflight runs before the release`);
        }
        assert.ok(existsSync(join(ROOT, "cli", "preflight.ts")));
    });

    test("CI runs preflight strict: a check that cannot look fails the deploy (no --partial)", async () => {
        const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
        assert.doesNotMatch(scripts.preflight, /--partial/);
        const job = staging;
        const step = job.steps.find((s) => s.run?.startsWith("npm run preflight"));
        assert.ok(step?.run);
        assert.doesNotMatch(text("deploy.yml"), /--partial/);
        // The step's own command line, as npm hands it to cli/preflight.ts, with the job's env.
        const args = step.run.split(" -- ")[1].split(/\s+/).map((a) => (a === '"$IMAGE"' ? CI_DIGEST_IMAGE : a));
        assert.deepEqual(args, ["--stack", "staging", "--image", CI_DIGEST_IMAGE]);
        // The deployer without one permission of its preflight role: the run must fail, not warn.
        const fake = await startFakeGoogle(ciWorld("serviceusage.services.get"));
        let stdout = "";
        try {
            const code = await preflightMain(["node", "cli/preflight.ts", ...args], { stdout: (t) => void (stdout += `${t}\n`), stderr: () => undefined }, {
                env: { GOOGLE_OAUTH_ACCESS_TOKEN: "deployer-token", DJANGO_PLATFORM_GOOGLE_API_BASE: fake.base, PULUMI_BACKEND_URL: `gs://${CI_STATE_BUCKET}` },
                runner: () => assert.fail("the job's token is used, gcloud is not asked"),
            });
            assert.equal(code, 1, stdout);
        } finally {
            await fake.close();
        }
        assert.match(stdout, /^FAIL {2}apis +could not check: .*lacks serviceusage\.services\.get/m);
    });

    test("production waits for staging and for a manual approval (environment protection)", () => {
        assert.equal(environment(production), "production");
        assert.ok([production.needs].flat().includes("staging"));
        assert.equal(environment(staging), "staging");
    });

    test("one concurrency group per stack, never cancelling a running update", () => {
        const groups = [staging, production].map((job) => job.concurrency as { group: string; "cancel-in-progress": boolean });
        assert.deepEqual(groups.map((g) => g.group), ["pulumi-staging", "pulumi-production"]);
        assert.ok(groups.every((g) => g["cancel-in-progress"] === false));
    });
});

describe("every command the workflows run exists here", () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

    for (const file of files) {
        test(file, () => {
            const runs = jobsOf(file).flatMap(([, job]) => job.steps.flatMap((s) => (s.run ? s.run.split("\n") : [])));
            let checked = 0;
            for (const line of runs) {
                for (const m of line.matchAll(/\b(?:bash|sh|npx tsx|node)\s+((?:tools|app|scripts)\/[\w./-]+)/g)) {
                    assert.ok(existsSync(join(ROOT, m[1])), `${file} runs ${m[1]}, which does not exist`);
                    checked++;
                }
                for (const m of line.matchAll(/\bnpm (?:run(?:-script)? ([\w:-]+)|(test|start))\b/g)) {
                    const script = m[1] ?? m[2];
                    assert.ok(script in scripts, `${file} runs npm script "${script}", which package.json does not define`);
                    checked++;
                }
                for (const m of line.matchAll(/cli\/release\.ts --stack ([\w.-]+)/g)) {
                    assert.ok(existsSync(join(ROOT, `Pulumi.${m[1]}.yaml`)), `${file} releases to stack ${m[1]}, which has no Pulumi.${m[1]}.yaml`);
                }
            }
            assert.ok(checked > 0 || !DEPLOYING.includes(file), `${file}: found no repository commands to check`);
        });
    }
});

/**
 * The GitHub expressions the image job uses, evaluated: `${{ … }}` with the contexts `vars.X`,
 * `github.sha`, `steps.<id>.outputs.<name>` (an output a step did not set, or a skipped step's, is
 * null), string literals, `==` (case-insensitive for strings) and `||` (the first truthy operand;
 * '' and null are falsy): https://docs.github.com/en/actions/learn-github-actions/expressions .
 * Anything else throws.
 */
function evaluateExpression(expression: string, ctx: { vars: Record<string, string>; sha: string; steps: Record<string, Record<string, string>> }): string | boolean | null {
    const operand = (token: string): string | null => {
        const t = token.trim();
        let m: RegExpExecArray | null;
        if ((m = /^'([^']*)'$/.exec(t))) return m[1];
        if ((m = /^vars\.([A-Z0-9_]+)$/.exec(t))) return ctx.vars[m[1]] ?? null;
        if (t === "github.sha") return ctx.sha;
        if ((m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(t))) return ctx.steps[m[1]]?.[m[2]] || null;
        throw new Error(`expression operand not modelled: ${t}`);
    };
    const term = (t: string): string | boolean | null => {
        const eq = t.split("==");
        if (eq.length === 2) return (operand(eq[0]) ?? "").toLowerCase() === (operand(eq[1]) ?? "").toLowerCase();
        assert.equal(eq.length, 1, `expression not modelled: ${t}`);
        return operand(t);
    };
    for (const part of expression.split("||")) {
        const v = term(part);
        if (v) return v;
    }
    return term(expression.split("||").pop() as string);
}

/** A workflow value with its `${{ … }}` parts evaluated (a whole-expression `if:` may omit the braces). */
function interpolate(value: string, ctx: Parameters<typeof evaluateExpression>[1]): string {
    return value.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => String(evaluateExpression(e, ctx) ?? ""));
}

// Tags are immutable (bootstrap/imageRegistry.ts, dockerConfig.immutableTags): a tag cannot be moved
// to another image (https://cloud.google.com/artifact-registry/docs/docker/names#versions). A rebuild
// of the same commit is not byte-identical (timestamps, provenance), so "Re-run all jobs" would
// push the commit's tag with another digest and be refused (the same on any immutable registry:
// moby/buildkit#3776). The image job therefore looks the tag up first and, when an earlier attempt
// pushed it, deploys that digest without building. The job's shell steps run here for real, with a
// fake `docker` that answers like `docker buildx imagetools inspect`: the top-level digest on
// stdout (what build-push-action reports as `digest`), or containerd's resolver error
// "<ref>: not found" when no registry has the tag (containerd remotes/docker/resolver.go).
describe("deploy.yml: re-running the image job", () => {
    const workflow = load("deploy.yml");
    const steps = workflow.jobs.image.steps;
    const at = (pred: (s: Step & { if?: string; shell?: string }) => boolean) => steps.findIndex(pred);
    const existing = () => steps[at((s) => s.id === "existing")] as Step & { shell?: string };
    const REPO = "europe-west1-docker.pkg.dev/acme/django/app";
    const SHA = "0123456789abcdef0123456789abcdef01234567";
    const D1 = `sha256:${"a".repeat(64)}`;
    const D2 = `sha256:${"b".repeat(64)}`;

    /** Runs a `run:` step with bash as GitHub does (`shell: bash`), its env interpolated; returns its outputs. */
    function runStep(step: Step & { shell?: string }, ctx: Parameters<typeof evaluateExpression>[1], docker: "found" | "missing" | "denied"): { status: number; outputs: Record<string, string>; dockerCalls: string[]; stderr: string } {
        assert.equal(step.shell, "bash", `${step.id}: shell bash (bash -eo pipefail)`);
        const dir = mkdtempSync(join(tmpdir(), "image-job-"));
        try {
            const bin = join(dir, "bin");
            mkdirSync(bin);
            writeFileSync(join(bin, "docker"), [
                "#!/usr/bin/env bash",
                'printf "%s\\n" "$*" >> "$FAKE_DOCKER_LOG"',
                'ref="${!#}"',
                'case "$FAKE_DOCKER" in',
                `  found) echo "${D1}" ;;`,
                '  missing) echo "ERROR: ${ref}: not found" >&2; exit 1 ;;',
                '  denied) echo "ERROR: failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized" >&2; exit 1 ;;',
                "esac",
            ].join("\n"), { mode: 0o755 });
            const output = join(dir, "output");
            writeFileSync(output, "");
            const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, interpolate(v, ctx)]));
            const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run as string], {
                cwd: dir,
                env: { PATH: `${bin}:${process.env.PATH}`, GITHUB_OUTPUT: output, GITHUB_SHA: ctx.sha, RUNNER_TEMP: dir, FAKE_DOCKER: docker, FAKE_DOCKER_LOG: join(dir, "docker.log"), ...env },
                encoding: "utf8",
            });
            const outputs = Object.fromEntries(readFileSync(output, "utf8").split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
            const dockerCalls = existsSync(join(dir, "docker.log")) ? readFileSync(join(dir, "docker.log"), "utf8").trim().split("\n") : [];
            return { status: result.status ?? -1, outputs, dockerCalls, stderr: result.stderr };
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    }

    /** The image job from the lookup on: lookup, build (when its `if:` holds), digest reference. */
    function imageJob(docker: "found" | "missing" | "denied") {
        const ctx = { vars: { IMAGE_REPOSITORY: REPO }, sha: SHA, steps: {} as Record<string, Record<string, string>> };
        const lookup = runStep(existing(), ctx, docker);
        if (lookup.status !== 0) return { lookup, built: false, image: undefined };
        ctx.steps.existing = lookup.outputs;
        const build = steps[at((s) => usesAction(s, "docker/build-push-action"))] as Step & { if?: string };
        const built = evaluateExpression(String(build.if).replace(/^\$\{\{(.*)\}\}$/, "$1"), ctx) === true;
        // The action itself is not run: a fresh build gets a new digest.
        ctx.steps.build = built ? { digest: D2 } : {};
        const pushed = runStep(steps[at((s) => s.id === "pushed")], ctx, docker);
        assert.equal(pushed.status, 0, pushed.stderr);
        return { lookup, built, image: pushed.outputs.image };
    }

    test("looks the tag up after the registry login, before building", () => {
        assert.ok(at((s) => s.id === "existing") >= 0, "no step with id existing");
        assert.ok(at((s) => usesAction(s, "docker/login-action")) < at((s) => s.id === "existing"));
        assert.ok(at((s) => s.id === "existing") < at((s) => usesAction(s, "docker/build-push-action")));
    });

    test("first attempt: the tag does not exist, so it builds and passes the new digest on", () => {
        const job = imageJob("missing");
        assert.equal(job.lookup.status, 0, job.lookup.stderr);
        assert.deepEqual(job.lookup.dockerCalls, [`buildx imagetools inspect --format {{.Manifest.Digest}} ${REPO}:${SHA}`]);
        assert.equal(job.built, true);
        assert.equal(job.image, `${REPO}@${D2}`);
    });

    test("re-run: the tag exists, so it builds nothing and deploys the digest the first attempt pushed", () => {
        const job = imageJob("found");
        assert.equal(job.built, false);
        assert.equal(job.image, `${REPO}@${D1}`);
    });

    test("a registry error is not taken for a missing tag: the job stops before building", () => {
        const job = imageJob("denied");
        assert.notEqual(job.lookup.status, 0);
        assert.match(job.lookup.stderr, /401 Unauthorized/);
        assert.equal(job.built, false);
    });
});

/** Runs the image job's `context` step (APP_CONTEXT check) in a directory where `dockerfiles` have a Dockerfile. */
function runContextStep(step: Step, appContext: string, dockerfiles: string[] = ["app"]): { status: number; dir?: string } {
    assert.equal(step.shell, "bash");
    const dir = mkdtempSync(join(tmpdir(), "context-step-"));
    try {
        for (const d of dockerfiles) {
            mkdirSync(join(dir, d), { recursive: true });
            writeFileSync(join(dir, d, "Dockerfile"), "FROM scratch\n");
        }
        const output = join(dir, ".github-output");
        writeFileSync(output, "");
        const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run as string], {
            cwd: dir,
            env: { PATH: process.env.PATH, GITHUB_OUTPUT: output, APP_CONTEXT: appContext },
            encoding: "utf8",
        });
        const line = readFileSync(output, "utf8").split("\n").find((l) => l.startsWith("dir="));
        return { status: result.status ?? -1, ...(line === undefined ? {} : { dir: line.slice("dir=".length) }) };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

// ---------------------------------------------------------------------------------------------
// Supply chain of the jobs (docs/release.md, "CI hardening").

/** `owner/repo[/path]@<40 hex> # vX.Y.Z`: a third-party action by full commit SHA, its release in the comment. */
const PINNED_USES = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_./-]+)?)@([0-9a-f]{40})\s+#\s*(v\d+\.\d+\.\d+)\s*$/;

/**
 * What is wrong with the `uses:` lines of a workflow's text: every action other than a local one
 * (`./…`) must be a full commit SHA with its version in a trailing comment (a tag or branch can be
 * moved to other code; a SHA cannot — GitHub's security hardening guide), and a `docker://` image
 * must be pinned by digest.
 */
function pinProblems(text: string): string[] {
    const problems: string[] = [];
    text.split("\n").forEach((line, i) => {
        const m = /^\s*(?:-\s+)?uses:\s*(.*)$/.exec(line);
        if (!m) {
            return;
        }
        const value = m[1].trim().replace(/^(['"])(.*)\1(\s+#.*)?$/, "$2$3");
        if (value.startsWith("./")) {
            return;
        }
        if (value.startsWith("docker://")) {
            if (!/^docker:\/\/\S+@sha256:[0-9a-f]{64}(\s+#.*)?$/.test(value)) {
                problems.push(`line ${i + 1}: ${value} is not pinned by digest`);
            }
            return;
        }
        if (!/^\S+@[0-9a-f]{40}(\s|$)/.test(value)) {
            problems.push(`line ${i + 1}: ${value} is not pinned to a full commit SHA`);
        } else if (!PINNED_USES.test(value)) {
            problems.push(`line ${i + 1}: ${value} has no "# vX.Y.Z" version comment`);
        }
    });
    return problems;
}

describe("every third-party action is pinned by commit SHA, with its version in a comment", () => {
    test("the check refuses tags, branches, short SHAs and SHAs without a version comment", () => {
        const sha = "3d3c42e5aac5ba805825da76410c181273ba90b1";
        assert.deepEqual(pinProblems(`      - uses: actions/checkout@${sha} # v7.0.1\n        uses: ./.github/actions/local\n`), []);
        for (const bad of ["actions/checkout@v4", "actions/checkout@main", "actions/checkout@3d3c42e", `actions/checkout@${sha}`, `actions/checkout@${sha} # v7`, "docker://alpine:3.20"]) {
            assert.equal(pinProblems(`      - uses: ${bad}\n`).length, 1, bad);
        }
    });

    for (const file of files) {
        test(`${file}: every uses: line`, () => {
            assert.deepEqual(pinProblems(text(file)), []);
            // The YAML has no `uses:` the line check did not see (flow style, odd quoting).
            const parsed = jobsOf(file).flatMap(([, job]) => job.steps.filter((s) => s.uses)).length;
            const lines = text(file).split("\n").filter((l) => /^\s*(?:-\s+)?uses:/.test(l)).length;
            assert.equal(lines, parsed);
        });
    }

    test("one commit and one version per action across the workflows (what Dependabot moves together)", () => {
        const seen = new Map<string, Set<string>>();
        for (const file of files) {
            for (const line of text(file).split("\n")) {
                const m = PINNED_USES.exec(line.replace(/^\s*(?:-\s+)?uses:\s*/, ""));
                if (m) {
                    seen.set(m[1], (seen.get(m[1]) ?? new Set()).add(`${m[2]} ${m[3]}`));
                }
            }
        }
        assert.ok(seen.size >= 8, [...seen.keys()].join(", "));
        for (const [action, pins] of seen) {
            assert.equal(pins.size, 1, `${action}: ${[...pins].join(" / ")}`);
        }
    });
});

/**
 * The first major of each action that runs on Node 24 (`runs.using: node24` in its `action.yml`,
 * the last release of the major before it saying node20; read in the actions' repositories). GitHub
 * removes Node 20 from its runners in September 2026 (docs/gcp-facts.md).
 */
const FIRST_NODE24_MAJOR: Record<string, number> = {
    "actions/checkout": 5,
    "actions/setup-node": 5,
    "actions/upload-artifact": 6,
    "actions/download-artifact": 7,
    "actions/github-script": 8,
    "google-github-actions/auth": 3,
    "google-github-actions/setup-gcloud": 3,
    "docker/login-action": 4,
    "docker/setup-buildx-action": 4,
    "docker/build-push-action": 7,
    "pulumi/actions": 7,
};

test("every pinned action is a release that runs on Node 24", () => {
    for (const file of files) {
        for (const line of text(file).split("\n")) {
            const m = PINNED_USES.exec(line.replace(/^\s*(?:-\s+)?uses:\s*/, ""));
            if (!m) {
                continue;
            }
            const [, action, , version] = m;
            assert.ok(action in FIRST_NODE24_MAJOR, `${file}: ${action} is not in FIRST_NODE24_MAJOR: look up the first major whose action.yml says node24`);
            assert.ok(Number(version.slice(1).split(".")[0]) >= FIRST_NODE24_MAJOR[action], `${file}: ${action} ${version} runs on Node 20`);
        }
    }
});

/** `1.2.3` → [1, 2, 3]. */
const semver = (v: string) => v.split(".").map(Number);
const notOlder = (a: string, b: string) => {
    const [x, y] = [semver(a), semver(b)];
    for (let i = 0; i < 3; i++) {
        if (x[i] !== y[i]) {
            return x[i] > y[i];
        }
    }
    return true;
};
const allSteps = () => files.flatMap((file) => jobsOf(file).flatMap(([name, job]) => job.steps.map((step) => ({ file, name, job, step }))));

describe("the tools the jobs download are pinned", () => {
    test("the Pulumi CLI: one exact version, not older than the @pulumi/pulumi SDK package-lock.json locks", () => {
        const installs = allSteps().filter(({ step }) => usesAction(step, "pulumi/actions"));
        assert.ok(installs.length >= 3, "staging, production and the preview install the CLI");
        const versions = new Set(installs.map(({ step }) => String(step.with?.["pulumi-version"])));
        assert.equal(versions.size, 1, [...versions].join(", "));
        const [version] = versions;
        assert.match(version, /^\d+\.\d+\.\d+$/, "an exact version (pulumi/actions' default is the range ^3)");
        for (const { step } of installs) {
            assert.equal(step.with?.["pulumi-version-file"], undefined);
            // Only the install: the commands are the CLI's own, in `run:` steps.
            assert.equal(step.with?.command, undefined);
        }
        const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
        const sdk = lock.packages["node_modules/@pulumi/pulumi"].version;
        assert.ok(notOlder(version, sdk), `pulumi-version ${version} is older than the locked @pulumi/pulumi ${sdk}: raise pulumi-version in .github/workflows/*.yml`);
    });

    test("gcloud: one exact version wherever setup-gcloud installs it", () => {
        const installs = allSteps().filter(({ step }) => usesAction(step, "google-github-actions/setup-gcloud"));
        assert.ok(installs.length >= 3);
        const versions = new Set(installs.map(({ step }) => String(step.with?.version)));
        assert.equal(versions.size, 1, [...versions].join(", "));
        assert.match([...versions][0], /^\d+\.\d+\.\d+$/, "an exact version (setup-gcloud's default is latest)");
        for (const { step } of installs) {
            assert.notEqual(step.with?.skip_install, true);
        }
    });

    test("BuildKit: the builder image by digest; buildx is the runner's, not a download", () => {
        const setups = allSteps().filter(({ step }) => usesAction(step, "docker/setup-buildx-action"));
        assert.equal(setups.length, 1);
        for (const { step } of setups) {
            const opts = String(step.with?.["driver-opts"] ?? "").split("\n").map((o) => o.trim()).filter(Boolean);
            const images = opts.filter((o) => o.startsWith("image="));
            assert.equal(images.length, 1, `driver-opts: ${opts.join(", ")}`);
            assert.match(images[0], /^image=moby\/buildkit:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
            assert.ok(step.with?.driver === undefined || step.with.driver === "docker-container");
            assert.equal(step.with?.version, undefined, "setup-buildx-action downloads buildx when `version` is set");
        }
    });
});

/** Workflow permissions of a job: its own, else the workflow's. */
const permissionsOf = (workflow: Workflow, job: Job) => job.permissions ?? workflow.permissions ?? {};
const hasAuth = (job: Job) => job.steps.some((s) => usesAction(s, "google-github-actions/auth"));

describe("permissions: nothing by default, id-token only where a job signs in to Google Cloud", () => {
    for (const file of files) {
        test(`${file}: no permission at the workflow level; each job lists its own`, () => {
            assert.deepEqual(load(file).permissions, {});
            for (const [name, job] of jobsOf(file)) {
                assert.ok(job.permissions, `${file} job ${name} has no permissions: block`);
            }
        });

        test(`${file}: id-token: write exactly in the jobs with google-github-actions/auth`, () => {
            // GitHub hands every step of such a job ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, not only the auth step.
            for (const [name, job] of jobsOf(file)) {
                assert.equal(permissionsOf(load(file), job)["id-token"] === "write", hasAuth(job), `${file} job ${name}`);
            }
        });

        test(`${file}: a job that can request an OIDC token runs no install script and restores no cache`, () => {
            for (const [name, job] of jobsOf(file)) {
                if (permissionsOf(load(file), job)["id-token"] !== "write") {
                    continue;
                }
                for (const step of job.steps) {
                    for (const line of (step.run ?? "").split("\n").filter((l) => /\bnpm (ci|install|i)\b/.test(l))) {
                        assert.match(line, /--ignore-scripts\b/, `${file} job ${name}: ${line.trim()}`);
                    }
                    assert.doesNotMatch(step.run ?? "", /\b(npx|yarn|pnpm) (add|install)\b|\bnpm (exec|x)\b/, `${file} job ${name}`);
                    assert.ok(!usesAction(step, "actions/cache"), `${file} job ${name} restores a cache`);
                    if (usesAction(step, "actions/setup-node")) {
                        assert.equal(step.with?.cache, undefined, `${file} job ${name}: setup-node restores the npm cache`);
                        assert.equal(step.with?.["package-manager-cache"], false, `${file} job ${name}: setup-node's automatic npm cache is on`);
                    }
                }
            }
        });
    }
});

/**
 * Jobs that run code of the pull request (or of the pushed commit): a checkout, or any `run:`
 * step (it runs in a job that could have checked something out). A job without either only runs
 * pinned actions on inputs the workflow gives it.
 */
const runsRepositoryCode = (job: Job) => job.steps.some((s) => s.run !== undefined || usesAction(s, "actions/checkout"));
/** Permissions other than id-token that a job holds with write access. */
const writePermissions = (workflow: Workflow, job: Job) =>
    Object.entries(permissionsOf(workflow, job)).filter(([k, v]) => k !== "id-token" && v === "write").map(([k]) => k);
/** The jobs of a pull request workflow that run the pull request's code and hold a write permission. */
const prCodeWithWrite = (workflow: Workflow) =>
    Object.entries(workflow.jobs).filter(([, job]) => runsRepositoryCode(job) && writePermissions(workflow, job).length > 0).map(([name]) => name);

describe("pull request code never runs with a write permission", () => {
    const workflow = load("pr.yml");

    test("the check catches the old layout (pulumi preview and the comment in one job with pull-requests: write)", () => {
        const old = structuredClone(workflow) as Workflow & { jobs: Record<string, Job & { permissions: Record<string, string> }> };
        old.jobs.preview.permissions = { contents: "read", "id-token": "write", "pull-requests": "write" };
        assert.deepEqual(prCodeWithWrite(old), ["preview"]);
    });

    test("pr.yml: no job that checks out or runs commands holds a write permission", () => {
        assert.deepEqual(prCodeWithWrite(workflow), []);
        for (const [name, job] of Object.entries(workflow.jobs).filter(([, j]) => runsRepositoryCode(j))) {
            for (const [permission, access] of Object.entries(permissionsOf(workflow, job))) {
                assert.ok((permission === "contents" && access === "read") || (permission === "id-token" && access === "write"), `pr.yml job ${name}: ${permission}: ${access}`);
            }
        }
    });

    test("the only write permission is the comment job's pull-requests: write, and it runs no code of the pull request", () => {
        const writers = Object.entries(workflow.jobs).filter(([, job]) => writePermissions(workflow, job).length > 0);
        assert.deepEqual(writers.map(([name, job]) => [name, writePermissions(workflow, job)]), [["comment", ["pull-requests"]]]);
        const comment = workflow.jobs.comment;
        assert.deepEqual(comment.permissions, { "pull-requests": "write" });
        // Only pinned actions that read the artifacts and call the API: no checkout, no run step.
        for (const step of comment.steps) {
            assert.ok(usesAction(step, "actions/download-artifact") || usesAction(step, "actions/github-script"), `comment job step ${step.uses ?? step.run ?? ""}`);
        }
        const script = comment.steps.find((s) => usesAction(s, "actions/github-script"));
        // No expression is spliced into the script (https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#understanding-the-risk-of-script-injections);
        // what it needs comes from the event, the workflow's own result, or files.
        assert.doesNotMatch(String(script?.with?.script), /\$\{\{/);
        assert.deepEqual(script?.env, { PREVIEW_RESULT: "${{ needs.preview.result }}" });
        assert.doesNotMatch(String(script?.with?.script), /\b(eval|Function|child_process|execSync|exec\.|spawn)\b/);
        for (const step of comment.steps.filter((s) => usesAction(s, "actions/download-artifact"))) {
            assert.match(String(step.with?.path), /^\$\{\{ runner\.temp \}\}\/pr-artifacts\/(cost|preview)$/);
        }
    });

    test("the comment job runs after the preview and the cost jobs, whatever the preview's result, and never for forks", () => {
        const comment = workflow.jobs.comment;
        assert.deepEqual([comment.needs].flat().sort(), ["cost", "preview"]);
        assert.match(String(comment.if), /!cancelled\(\)/);
        assert.match(String(comment.if), /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
        assert.equal(workflow.jobs.preview.if, "github.event.pull_request.head.repo.full_name == github.repository");
    });

    test("deploy.yml: no job holds a write permission other than id-token", () => {
        const deploy = load("deploy.yml");
        for (const [name, job] of jobsOf("deploy.yml")) {
            assert.deepEqual(writePermissions(deploy, job), [], `deploy.yml job ${name}`);
        }
    });

    test("every checkout leaves no token in the work tree (persist-credentials: false)", () => {
        for (const { file, name, step } of allSteps().filter(({ step }) => usesAction(step, "actions/checkout"))) {
            assert.equal(step.with?.["persist-credentials"], false, `${file} job ${name}`);
        }
    });
});

// The comment job's script, run as actions/github-script v8.0.0 runs it (src/async-function.ts:
// `new AsyncFunction(...Object.keys(args), source)` with require, github, context, core, …), against
// a fake GitHub that keeps the pull request's comments.
interface FakeComment {
    id: number;
    user: { login: string; type: string };
    body: string;
}
const BOT = { login: "github-actions[bot]", type: "Bot" };
async function runCommentJob(options: { cost?: string; preview?: string; result: string; comments?: FakeComment[] }): Promise<{ comments: FakeComment[]; calls: string[] }> {
    const step = load("pr.yml").jobs.comment.steps.find((s) => usesAction(s, "actions/github-script"));
    const script = String(step?.with?.script);
    const temp = mkdtempSync(join(tmpdir(), "comment-job-"));
    const comments = [...(options.comments ?? [])];
    const calls: string[] = [];
    const github = {
        rest: {
            issues: {
                listComments: async (p: { issue_number: number }) => (calls.push(`list ${p.issue_number}`), { data: comments }),
                createComment: async (p: { issue_number: number; body: string }) => {
                    calls.push(`create ${p.issue_number}`);
                    comments.push({ id: 100 + comments.length, user: BOT, body: p.body });
                    return { data: {} };
                },
                updateComment: async (p: { comment_id: number; body: string }) => {
                    calls.push(`update ${p.comment_id}`);
                    (comments.find((c) => c.id === p.comment_id) as FakeComment).body = p.body;
                    return { data: {} };
                },
            },
        },
        paginate: async (method: (p: object) => Promise<{ data: unknown[] }>, params: object) => (await method(params)).data,
    };
    const context = { repo: { owner: "acme", repo: "django-platform" }, payload: { pull_request: { number: 42 } }, serverUrl: "https://github.com", runId: 7 };
    const saved = { RUNNER_TEMP: process.env.RUNNER_TEMP, PREVIEW_RESULT: process.env.PREVIEW_RESULT };
    try {
        for (const [name, content] of [["cost/cost.md", options.cost], ["preview/preview.txt", options.preview]] as const) {
            if (content !== undefined) {
                mkdirSync(dirname(join(temp, "pr-artifacts", name)), { recursive: true });
                writeFileSync(join(temp, "pr-artifacts", name), content);
            }
        }
        process.env.RUNNER_TEMP = temp;
        process.env.PREVIEW_RESULT = options.result;
        const args = { require, __original_require__: require, github, octokit: github, context, core: { info: () => undefined }, exec: {}, glob: {}, io: {} };
        const AsyncFunction = Object.getPrototypeOf(async () => null).constructor as new (...a: string[]) => (...v: unknown[]) => Promise<unknown>;
        await new AsyncFunction(...Object.keys(args), script)(...Object.values(args));
    } finally {
        for (const [key, value] of Object.entries(saved)) {
            if (value === undefined) {
                delete process.env[key];
            } else {
                process.env[key] = value;
            }
        }
        rmSync(temp, { recursive: true, force: true });
    }
    return { comments, calls };
}

/** The lines between the comment's "```diff" line and the first line after it that could close a fence. */
function fencedPreview(body: string): string[] {
    const lines = body.split("\n");
    const open = lines.indexOf("```diff");
    assert.ok(open >= 0, "no ```diff block");
    // A block opened with backticks is closed only by a line of three or more backticks (CommonMark 0.31, "Fenced code blocks").
    const close = lines.findIndex((l, i) => i > open && /^ {0,3}`{3,}\s*$/.test(l));
    assert.ok(close > open, "the block is never closed");
    return lines.slice(open + 1, close);
}

describe("pr.yml: the comment job, run with a fake GitHub", () => {
    const COST = "### Monthly cost change: staging\n\n| component | idle | peak |\n| --- | --- | --- |\n| workload | $0.00 | +$12.34 |\n";
    const PREVIEW = "Previewing update (staging):\n  ~ kubernetes:apps/v1:Deployment django-workload-web update [diff: ~spec]\nResources:\n    ~ 1 to update\n";

    test("posts one comment on the event's pull request, then updates it on the next run", async () => {
        const first = await runCommentJob({ cost: COST, preview: PREVIEW, result: "success" });
        assert.deepEqual(first.calls, ["list 42", "create 42"]);
        assert.equal(first.comments.length, 1);
        const body = first.comments[0].body;
        assert.ok(body.startsWith("<!-- django-platform: pull request preview -->"));
        assert.match(body, /The preview passed\./);
        assert.deepEqual(fencedPreview(body), PREVIEW.split("\n"));
        assert.ok(body.includes("| workload | $0.00 | +$12.34 |"), "the cost table is rendered as Markdown");
        const second = await runCommentJob({ cost: COST, preview: PREVIEW, result: "failure", comments: first.comments });
        assert.deepEqual(second.calls, ["list 42", `update ${first.comments[0].id}`]);
        assert.equal(second.comments.length, 1);
        assert.match(second.comments[0].body, /The preview job's result: \*\*failure\*\*/);
    });

    test("never edits someone else's comment, even one that starts with the marker", async () => {
        const planted = { id: 5, user: { login: "mallory", type: "User" }, body: "<!-- django-platform: pull request preview -->\nplanted" };
        const run = await runCommentJob({ cost: COST, preview: PREVIEW, result: "success", comments: [planted] });
        assert.deepEqual(run.calls, ["list 42", "create 42"]);
        assert.equal(planted.body, "<!-- django-platform: pull request preview -->\nplanted");
    });

    test("the preview's text stays inside its code block: fences, control characters, bidi overrides, expressions", async () => {
        const hostile = "line 1\n```\n## Approved by the platform team\n````\n~~~\n\u001b[31mred\u001b[0m \u202eevil\u202c ${{ github.token }}\n";
        const { comments } = await runCommentJob({ cost: COST, preview: hostile, result: "success" });
        const inside = fencedPreview(comments[0].body).join("\n");
        assert.ok(inside.includes("## Approved by the platform team"), "the fake heading stays inside the block");
        assert.ok(inside.includes("~~~"));
        assert.ok(inside.includes("${{ github.token }}"), "an expression in an artifact is text, not evaluated");
        assert.doesNotMatch(inside, /[\u001b\u202e\u202c]/);
        // After the block: only what the job wrote itself.
        const after = comments[0].body.split(inside)[1];
        assert.ok(after.startsWith("\n```\n"), after.slice(0, 40));
    });

    test("the cost table cannot mention anyone or hide text in an HTML comment", async () => {
        const cost = `${COST}\ncc @acme/platform-admins <!-- hidden -->\n<!-- django-platform: pull request preview -->\n`;
        const { comments } = await runCommentJob({ cost, preview: PREVIEW, result: "success" });
        const body = comments[0].body;
        assert.doesNotMatch(body, /@acme/);
        assert.match(body, /@\u200bacme\/platform-admins/);
        assert.doesNotMatch(body, /<!-- hidden/);
        assert.equal(body.split("<!-- django-platform: pull request preview -->").length, 2, "the marker appears once, at the start");
    });

    test("a huge preview and cost table are cut to their start and end: the body stays under GitHub's 65536 characters", async () => {
        const preview = `FIRST LINE\n${"~ kubernetes:core/v1:ConfigMap x update\n".repeat(80_000)}LAST LINE\n`;
        const cost = `### Monthly cost change: staging\n${"| x | $1.00 | $2.00 |\n".repeat(10_000)}END OF COST\n`;
        const { comments } = await runCommentJob({ cost, preview, result: "success" });
        const body = comments[0].body;
        assert.ok(body.length <= 65536, `${body.length} characters`);
        assert.ok(body.includes("FIRST LINE") && body.includes("LAST LINE") && body.includes("END OF COST"));
        assert.match(body, /bytes cut/);
        assert.match(body, /all of it is in the \[log\]\(https:\/\/github\.com\/acme\/django-platform\/actions\/runs\/7\)/);
    });

    test("no preview output (the preview job stopped early or was skipped): the comment says so, with the job's result", async () => {
        const { comments } = await runCommentJob({ cost: COST, result: "failure" });
        assert.match(comments[0].body, /No preview output: the job stopped before the preview\./);
        assert.match(comments[0].body, /\*\*failure\*\*/);
        assert.ok(comments[0].body.includes("| workload | $0.00 | +$12.34 |"));
    });
});

describe("no credentials file where a build context can pick it up", () => {
    const deploy = load("deploy.yml");

    test("the image job signs in for an access token only: no credentials file in the workspace", () => {
        const auth = deploy.jobs.image.steps.find((s) => usesAction(s, "google-github-actions/auth"));
        assert.equal(auth?.with?.create_credentials_file, false);
        assert.equal(auth?.with?.token_format, "access_token");
    });

    test("no job both writes a credentials file and builds an image", () => {
        for (const { file, name, job } of allSteps().filter(({ step }) => usesAction(step, "google-github-actions/auth"))) {
            const auth = job.steps.find((s) => usesAction(s, "google-github-actions/auth"));
            if (auth?.with?.create_credentials_file === false) {
                continue;
            }
            const builds = job.steps.some((s) => usesAction(s, "docker/build-push-action") || /\bdocker (buildx )?build\b/.test(s.run ?? ""));
            // cli/release.ts builds unless it is given --image (tests/release.test.ts).
            const releasesWithoutImage = job.steps.some((s) => /cli\/release\.ts/.test(s.run ?? "") && !/--image\b/.test(s.run ?? ""));
            assert.ok(!builds && !releasesWithoutImage, `${file} job ${name} writes a credentials file and builds an image`);
        }
    });

    test(".gitignore keeps google-github-actions/auth's credentials files out of commits (asked of git itself)", () => {
        for (const path of ["gha-creds-0123456789abcdef.json", "app/gha-creds-0123456789abcdef.json"]) {
            const result = spawnSync("git", ["check-ignore", "--no-index", "-q", path], { cwd: ROOT });
            assert.equal(result.status, 0, `git does not ignore ${path}`);
        }
    });

    test("app/.dockerignore keeps them out of the image, at any depth of the context", () => {
        // .dockerignore patterns are anchored at the context root; `**` matches any number of
        // directories, none included (https://docs.docker.com/build/concepts/context/#dockerignore-files).
        const patterns = readFileSync(join(ROOT, "app", ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
        for (const path of ["gha-creds-0123456789abcdef.json", "config/gha-creds-0123456789abcdef.json"]) {
            assert.ok(patterns.some((p) => minimatch(path, p, { dot: true })), `app/.dockerignore does not exclude ${path}`);
        }
    });
});

describe("npm install scripts", () => {
    test("npm runs a dependency's install script unless --ignore-scripts is given (npm's own behaviour, run here)", () => {
        // npm 11's allowScripts is advisory: "install scripts still run by default"
        // (npm docs, commands/npm-approve-scripts.md); npm 10 (Node 20) has no such policy.
        const dir = mkdtempSync(join(tmpdir(), "npm-scripts-"));
        try {
            mkdirSync(join(dir, "dep"));
            writeFileSync(join(dir, "dep", "package.json"), JSON.stringify({ name: "dep-with-script", version: "1.0.0", scripts: { postinstall: "node -e \"require('fs').writeFileSync(process.env.MARK, 'ran')\"" } }));
            const npm = (cwd: string, args: string[], mark = join(dir, "unused")) => {
                const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--cache", join(dir, "cache")], { cwd, env: { ...process.env, MARK: mark }, encoding: "utf8" });
                assert.equal(r.status, 0, r.stderr);
                return r;
            };
            npm(join(dir, "dep"), ["pack", "--pack-destination", dir, "--ignore-scripts"]);
            mkdirSync(join(dir, "app"));
            writeFileSync(join(dir, "app", "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, dependencies: { "dep-with-script": "file:../dep-with-script-1.0.0.tgz" } }));
            npm(join(dir, "app"), ["install", "--ignore-scripts"]);
            rmSync(join(dir, "app", "node_modules"), { recursive: true });
            npm(join(dir, "app"), ["ci", "--ignore-scripts"], join(dir, "mark-ignored"));
            assert.ok(!existsSync(join(dir, "mark-ignored")), "npm ci --ignore-scripts ran the install script");
            rmSync(join(dir, "app", "node_modules"), { recursive: true });
            npm(join(dir, "app"), ["ci"], join(dir, "mark-default"));
            assert.ok(existsSync(join(dir, "mark-default")), "npm ci without --ignore-scripts ran no install script: has npm's default changed? (docs/gcp-facts.md)");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    test("the packages with install scripts are the reviewed ones, which the jobs do without", () => {
        // @pulumi/kubernetes: installs its resource plugin, which the Pulumi CLI installs itself when
        // missing (as it already does for @pulumi/gcp, which has no install script); esbuild (under
        // tsx): checks its platform binary, which npm installs as an optional dependency without any
        // script; protobufjs: a version-scheme warning. `npm ci --ignore-scripts` then a synth runs
        // (this repository's README commands). A new entry: check what its script does before CI
        // skips it.
        const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { hasInstallScript?: boolean }> };
        const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([path]) => path).sort();
        assert.deepEqual(withScripts, ["node_modules/@pulumi/kubernetes", "node_modules/esbuild", "node_modules/protobufjs"]);
    });
});

interface DependabotUpdate {
    readonly "package-ecosystem": string;
    readonly directory?: string;
    readonly directories?: string[];
    readonly schedule: { interval: string };
    readonly groups?: Record<string, { patterns?: string[] }>;
    readonly cooldown?: { "default-days"?: number };
}
const DEPENDABOT = join(ROOT, ".github", "dependabot.yml");

/**
 * The directories Dependabot must watch, per ecosystem, from the files in the repository (tracked
 * or new, not ignored): package.json (npm), requirements*.txt and *.in (pip), Dockerfile and
 * Containerfile (docker), and the workflows (github-actions reads .github/workflows when its
 * directory is `/`). tests/ holds fixtures of other projects, not manifests of this one.
 */
function manifestDirectories(paths: string[]): Set<string> {
    const wanted = new Set<string>();
    for (const path of paths.filter((p) => !p.startsWith("tests/"))) {
        const dir = `/${dirname(path)}`.replace(/\/\.$/, "/");
        const name = path.split("/").pop() as string;
        if (name === "package.json") wanted.add(`npm ${dir}`);
        if (/^requirements.*\.txt$|\.in$/.test(name) && !path.startsWith(".github/")) wanted.add(`pip ${dir}`);
        if (/dockerfile|containerfile/i.test(name)) wanted.add(`docker ${dir}`);
        if (/^\.github\/workflows\/[^/]+\.ya?ml$/.test(path)) wanted.add("github-actions /");
    }
    return wanted;
}
const covered = (updates: DependabotUpdate[]) =>
    new Set(updates.flatMap((u) => [...(u.directories ?? []), ...(u.directory === undefined ? [] : [u.directory])].map((d) => `${u["package-ecosystem"]} ${d}`)));

describe("Dependabot keeps the pins current", () => {
    const config = parse(readFileSync(DEPENDABOT, "utf8")) as { version: number; updates: DependabotUpdate[] };

    test("dependabot.yml is valid against SchemaStore's dependabot-2.0 schema", () => {
        // tests/fixtures/schemastore/dependabot-2.0.json: SchemaStore/schemastore
        // src/schemas/json/dependabot-2.0.json at commit 33184777685a28f9a75ed4ec8a8f1dbeeb31ee6c.
        const schema = JSON.parse(readFileSync(join(__dirname, "fixtures", "schemastore", "dependabot-2.0.json"), "utf8")) as object;
        const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
        assert.ok(validate(config), JSON.stringify(validate.errors));
        assert.ok(!validate({ version: 2, updates: [{ "package-ecosystem": "npm", directory: "/", schedule: { interval: "weekly" }, grups: {} }] }), "the schema refuses an unknown key");
    });

    test("every directory with a manifest is covered, for its ecosystem", () => {
        const listed = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(listed.status, 0, listed.stderr);
        const wanted = manifestDirectories(listed.stdout.split("\n").filter(Boolean));
        for (const entry of ["npm /", "npm /bootstrap", "npm /policy", "pip /app", "docker /app", "github-actions /"]) {
            assert.ok(wanted.has(entry), `expected a manifest for ${entry}; found ${[...wanted].join(", ")}`);
        }
        const have = covered(config.updates);
        assert.deepEqual([...wanted].filter((w) => !have.has(w)), [], "dependabot.yml misses these (ecosystem directory)");
        // …and lists nothing that is not there.
        assert.deepEqual([...have].filter((h) => !wanted.has(h)), []);
    });

    test("the coverage check notices a manifest Dependabot does not watch", () => {
        const wanted = manifestDirectories(["package.json", "services/api/package.json", "app/Dockerfile"]);
        const have = covered([{ "package-ecosystem": "npm", directory: "/", schedule: { interval: "weekly" } }]);
        assert.deepEqual([...wanted].filter((w) => !have.has(w)), ["npm /services/api", "docker /app"]);
    });

    test("docker: app/Dockerfile's base image is one Dependabot can read, or docs/release.md says it is not", () => {
        // dependabot-core at 54c10285aafe229d2e8e2708c1c716d6a0a534f8: docker/lib/dependabot/docker/file_parser.rb
        // (FROM_LINE; a dependency only with a tag or a digest) over docker/lib/dependabot/shared/shared_file_parser.rb
        // (DOMAIN, IMAGE, TAG): a FROM line must name the image itself, so `FROM ${ARG}` is skipped.
        const name = "[a-z\\d]+(?:(?:[._]|__|[-]*)[a-z\\d]+)*";
        const domain = "(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])";
        const fromLine = new RegExp(`^[Ff][Rr][Oo][Mm]\\s+(?:--platform=\\S+\\s+)?(?:${domain}(?:\\.${domain})+(?::\\d+)?/)?${name}(?:/${name})*(?<tag>:[\\w][\\w.-]{0,127})?(?<digest>@sha256:[0-9a-f]{64})?`);
        const readable = (dockerfile: string) => dockerfile.split("\n").some((l) => {
            const m = fromLine.exec(l);
            return m !== null && (m.groups?.tag !== undefined || m.groups?.digest !== undefined);
        });
        assert.ok(readable("FROM python:3.11.14-slim-bookworm AS build\n"));
        assert.ok(readable(`FROM docker.io/library/python@sha256:${"a".repeat(64)}\n`));
        assert.ok(!readable("ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm\nFROM ${PYTHON_IMAGE} AS build\n"));
        const docs = readFileSync(join(ROOT, "docs", "release.md"), "utf8");
        const docsSayUnreadable = docs.includes("`FROM ${PYTHON_IMAGE}` is not one");
        // The base image is written on the FROM lines (tests/app-image.test.ts pins its digest).
        assert.equal(docsSayUnreadable, false, "docs/release.md still says Dependabot cannot read the base image");
        assert.equal(readable(readFileSync(join(ROOT, "app", "Dockerfile"), "utf8")), !docsSayUnreadable, "docs/release.md (\"Keeping the pins current\") must say whether Dependabot sees app/Dockerfile's base image");
    });

    test("weekly, one grouped pull request per ecosystem, new versions held for a week", () => {
        for (const update of config.updates) {
            const label = `${update["package-ecosystem"]} ${update.directory ?? update.directories?.join(",")}`;
            assert.equal(update.schedule.interval, "weekly", label);
            const groups = Object.values(update.groups ?? {});
            assert.ok(groups.some((g) => g.patterns?.includes("*")), `${label}: no group takes every dependency`);
            assert.ok((update.cooldown?.["default-days"] ?? 0) >= 7, `${label}: cooldown`);
        }
    });
});

describe("CODEOWNERS", () => {
    const OWNED = [".github/workflows/deploy.yml", ".github/workflows/pr.yml", ".github/dependabot.yml", ".github/CODEOWNERS", "bootstrap/index.ts", "bootstrap/deployerRoles.ts", "policy/index.ts", "package-lock.json", "package.json", "cli/release.ts", "maint/install-deps.sh"];
    const lines = readFileSync(join(ROOT, ".github", "CODEOWNERS"), "utf8").split("\n");
    const rules = lines.map((line, i) => ({ line: i + 1, fields: line.replace(/\s#.*$/, "").trim().split(/\s+/) })).filter((r) => r.fields[0] !== "" && !r.fields[0].startsWith("#"));

    test("every rule names an owner, with the syntax GitHub supports (no `!`, no `[ ]`)", () => {
        assert.ok(rules.length > 0);
        for (const { line, fields } of rules) {
            assert.ok(fields.length >= 2, `CODEOWNERS line ${line} has no owner (it would clear ownership)`);
            assert.ok(fields.slice(1).every((o) => /^@[\w.-]+(\/[\w.-]+)?$|^[^@\s]+@[^@\s]+$/.test(o)), `line ${line}: ${fields.slice(1).join(" ")}`);
            assert.doesNotMatch(fields[0], /^!|\[/, `line ${line}: GitHub's CODEOWNERS does not support negation or character ranges`);
        }
    });

    test("owns what decides CI's permissions, the bootstrap, the policy pack and the dependencies (the last matching rule, asked of git)", () => {
        // CODEOWNERS paths follow .gitignore's rules and the last matching line wins
        // (https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):
        // git check-ignore -v names the pattern that decides each path.
        const dir = mkdtempSync(join(tmpdir(), "codeowners-"));
        try {
            spawnSync("git", ["init", "-q"], { cwd: dir });
            writeFileSync(join(dir, ".gitignore"), lines.map((l) => l.replace(/\s#.*$/, "").trim().split(/\s+/)[0] ?? "").map((p) => (p.startsWith("#") ? "" : p)).join("\n"));
            for (const path of OWNED) {
                const r = spawnSync("git", ["check-ignore", "-v", "--no-index", path], { cwd: dir, encoding: "utf8" });
                assert.equal(r.status, 0, `no CODEOWNERS rule matches ${path}`);
                const line = Number(/^\.gitignore:(\d+):/.exec(r.stdout)?.[1]);
                const rule = rules.find((x) => x.line === line);
                assert.ok(rule && rule.fields.length >= 2, `${path}: decided by CODEOWNERS line ${line}, which has no owner`);
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("the ruleset for main (.github/rulesets/main.json, applied by an admin: docs/release.md)", () => {
    const ruleset = JSON.parse(readFileSync(join(ROOT, ".github", "rulesets", "main.json"), "utf8")) as {
        target: string;
        enforcement: string;
        conditions: { ref_name: { include: string[] } };
        bypass_actors: unknown[];
        rules: { type: string; parameters?: Record<string, unknown> }[];
    };
    const rule = (type: string) => ruleset.rules.find((r) => r.type === type);

    test("active on the default branch, with nobody allowed to bypass it", () => {
        assert.equal(ruleset.target, "branch");
        assert.equal(ruleset.enforcement, "active");
        assert.deepEqual(ruleset.conditions.ref_name.include, ["~DEFAULT_BRANCH"]);
        assert.deepEqual(ruleset.bypass_actors, []);
        assert.ok(rule("deletion") && rule("non_fast_forward"));
    });

    test("a pull request with an approval from a code owner, stale approvals dismissed, the last push approved by someone else", () => {
        // Field names of GitHub's REST "repository rule" (github/rest-api-description, RepositoryRulePullRequest).
        const parameters = rule("pull_request")?.parameters ?? {};
        assert.ok(Number(parameters.required_approving_review_count) >= 1);
        assert.equal(parameters.require_code_owner_review, true);
        assert.equal(parameters.dismiss_stale_reviews_on_push, true);
        assert.equal(parameters.require_last_push_approval, true);
    });

    test("the required check is a job of pr.yml", () => {
        const checks = (rule("required_status_checks")?.parameters?.required_status_checks ?? []) as { context: string }[];
        const names = Object.values(load("pr.yml").jobs).map((job) => (job as Job & { name?: string }).name);
        assert.ok(checks.length > 0);
        for (const { context } of checks) {
            assert.ok(names.includes(context), `required check "${context}" is not the name of a pr.yml job`);
        }
    });
});
