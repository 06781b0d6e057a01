/**
 * The GitHub Actions workflows, checked offline: every file against the GitHub workflow schema
 * (@action-validator/core), plus the invariants that keep CI keyless and gated — OIDC instead of
 * keys, one service account per job (the image pusher, each stack's deployer in its environment,
 * a pull request only as the approved read-only previewer), gcloud's GKE auth plugin wherever
 * Pulumi reaches the cluster, the policy pack on every preview, a manual gate before production,
 * one digest for both stacks — and that every command they run exists in this repository.
 * Which runs may become which service account is checked in tests/trust-reachability.test.ts.
 */
import assert from "node:assert/strict";
import { validateWorkflow } from "@action-validator/core";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { GITHUB_VARIABLES, deployServiceAccountVariable, previewServiceAccountVariable } from "../bootstrap/commands";
import { main as preflightMain } from "../tools/preflight";
import { startFakeGoogle } from "./lib/fakeGoogle";
import { CI_DIGEST_IMAGE, CI_STATE_BUCKET, ciWorld } from "./lib/preflightChecks";

const ROOT = join(__dirname, "..");
const DIR = join(ROOT, ".github", "workflows");

interface Step {
    readonly name?: string;
    readonly id?: string;
    readonly uses?: string;
    readonly run?: string;
    readonly with?: Record<string, unknown>;
    readonly env?: Record<string, string>;
}
interface Job {
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
const runsPulumi = (step: Step) => usesAction(step, "pulumi/actions") || /\bpulumi\s|tools\/release\.ts/.test(step.run ?? "");

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
                    assert.equal(step.uses, "google-github-actions/auth@v2");
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
                assert.equal(step.uses, "google-github-actions/setup-gcloud@v2");
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

        test(`${file}: actions are pinned to a major version or a commit`, () => {
            for (const [, job] of jobsOf(file)) {
                for (const step of job.steps.filter((s) => s.uses)) {
                    assert.match(step.uses as string, /^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/, `${file}: ${step.uses as string}`);
                }
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

    test("runs on pull requests with read-only contents by default", () => {
        assert.ok("pull_request" in workflow.on);
        assert.deepEqual(workflow.permissions, { contents: "read" });
    });

    test("tests with the README's install and test commands", () => {
        const runs = workflow.jobs.test.steps.filter((s) => s.run).map((s) => s.run?.trim());
        assert.ok(runs.includes("bash tools/install-deps.sh") && runs.includes("npm test"), runs.join("\n"));
        const readme = readFileSync(join(ROOT, "README.md"), "utf8");
        for (const command of ["bash tools/install-deps.sh", "npm test"]) {
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

    test("previews staging with the policy pack and comments on the PR, with minimal permissions", () => {
        const preview = workflow.jobs.preview;
        assert.deepEqual(preview.permissions, { contents: "read", "id-token": "write", "pull-requests": "write" });
        const step = preview.steps.find((s) => usesAction(s, "pulumi/actions") && s.with?.command === "preview");
        assert.ok(step, "no pulumi/actions preview step");
        assert.equal(step.uses, "pulumi/actions@v6");
        assert.equal(step.with?.["stack-name"], "staging");
        assert.equal(step.with?.policyPacks, "policy");
        assert.equal(step.with?.["comment-on-pr"], true);
        // The previewer may read only what a plain preview reads; --refresh would need more (docs/bootstrap.md).
        assert.ok(step.with?.refresh === undefined || step.with.refresh === false, "the preview must not refresh");
        assert.ok(existsSync(join(ROOT, "policy", "PulumiPolicy.yaml")), "the policy pack directory policy/ has no PulumiPolicy.yaml");
        assert.ok(existsSync(join(ROOT, "Pulumi.staging.yaml")));
    });
});

describe("deploy.yml", () => {
    const workflow = load("deploy.yml");
    const { image, staging, production } = workflow.jobs;
    const environment = environmentOf;
    const releaseRun = (job: Job) => job.steps.find((s) => s.run?.includes("tools/release.ts"));

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

    test("builds the directory APP_CONTEXT names (default app, which has a Dockerfile), for linux/amd64", () => {
        const build = image.steps.find((s) => usesAction(s, "docker/build-push-action"));
        const context = /^\$\{\{ vars\.([A-Z_]+) \|\| '([^']+)' \}\}$/.exec(String(build?.with?.context));
        assert.ok(context, `context is ${String(build?.with?.context)}, not \${{ vars.${GITHUB_VARIABLES.appContext} || '<default>' }}`);
        assert.equal(context[1], GITHUB_VARIABLES.appContext);
        assert.ok(existsSync(join(ROOT, context[2], "Dockerfile")), `the default build context ${context[2]} has no Dockerfile`);
        assert.equal(build?.with?.file, undefined, "the Dockerfile is the context's own ({context}/Dockerfile)");
        assert.equal(build?.with?.platforms, "linux/amd64");
    });

    test("staging and production deploy the same digest with the release command", () => {
        for (const [stack, job] of [["staging", staging], ["production", production]] as const) {
            const step = releaseRun(job);
            assert.equal(step?.run, `npx tsx tools/release.ts --stack ${stack} --image "$IMAGE" --yes`);
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
            assert.ok(preflight < at((s) => s.run?.includes("tools/release.ts") ?? false), `${stack}: preflight runs before the release`);
        }
        assert.ok(existsSync(join(ROOT, "tools", "preflight.ts")));
    });

    test("CI runs preflight strict: a check that cannot look fails the deploy (no --partial)", async () => {
        const scripts = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
        assert.doesNotMatch(scripts.preflight, /--partial/);
        const job = staging;
        const step = job.steps.find((s) => s.run?.startsWith("npm run preflight"));
        assert.ok(step?.run);
        assert.doesNotMatch(text("deploy.yml"), /--partial/);
        // The step's own command line, as npm hands it to tools/preflight.ts, with the job's env.
        const args = step.run.split(" -- ")[1].split(/\s+/).map((a) => (a === '"$IMAGE"' ? CI_DIGEST_IMAGE : a));
        assert.deepEqual(args, ["--stack", "staging", "--image", CI_DIGEST_IMAGE]);
        // The deployer without one permission of its preflight role: the run must fail, not warn.
        const fake = await startFakeGoogle(ciWorld("serviceusage.services.get"));
        let stdout = "";
        try {
            const code = await preflightMain(["node", "tools/preflight.ts", ...args], { stdout: (t) => void (stdout += `${t}\n`), stderr: () => undefined }, {
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
                for (const m of line.matchAll(/tools\/release\.ts --stack ([\w.-]+)/g)) {
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
