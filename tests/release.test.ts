/**
 * cli/release.ts: option validation with exact messages, the planned command sequence, and a
 * real run against fake `docker` and `pulumi` executables that record what they were asked to do:
 * the image is built for linux/amd64 whatever the machine, from `app/` or from `--context`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { BUILD_PLATFORM, PUSHED_IMAGE, ReleaseEnvironment, commandLine, credentialsInContext, parseReleaseArgs, pickDigest, planRelease } from "../cli/release";

const ROOT = join(__dirname, "..");
const REPO = "europe-west1-docker.pkg.dev/acme/django-platform/app";
const DIGEST = `sha256:${"ab12".repeat(16)}`;
const SHA = "0123456789abcdef0123456789abcdef01234567";

const dir = mkdtempSync(join(tmpdir(), "release-test-"));
writeFileSync(join(dir, "Pulumi.staging.yaml"), "config: {}\n");
// The default build context (the reference app) and a user's own Django project beside the repo.
mkdirSync(join(dir, "app"));
writeFileSync(join(dir, "app", "Dockerfile"), "FROM scratch\n");
const own = mkdtempSync(join(tmpdir(), "release-test-own-project-"));
writeFileSync(join(own, "Dockerfile"), "FROM scratch\n");
after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(own, { recursive: true, force: true });
});

const env = (over: Partial<ReleaseEnvironment> = {}): ReleaseEnvironment => ({ projectDir: dir, env: {}, cleanCommit: () => SHA, ...over });

describe("planRelease", () => {
    test("builds for linux/amd64, pushes, resolves the digest, pins it, then pulumi up with the policy pack", () => {
        const steps = planRelease({ stack: "staging", repository: REPO }, env());
        assert.equal(BUILD_PLATFORM, "linux/amd64");
        assert.deepEqual(steps.map(commandLine), [
            `docker build --platform linux/amd64 --build-context django-platform-settings=python/django-platform-settings --tag ${REPO}:${SHA} app`,
            `docker push ${REPO}:${SHA}`,
            `docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' ${REPO}:${SHA}`,
            `pulumi config set --stack staging image '${PUSHED_IMAGE}'`,
            "pulumi up --stack staging --policy-pack policy",
        ]);
        assert.deepEqual(steps.map((s) => s.resolvesImage === true), [false, false, true, false, false]);
    });

    test("--image deploys an already-pushed digest without building; --yes for CI", () => {
        const image = `${REPO}@${DIGEST}`;
        assert.deepEqual(planRelease({ stack: "staging", image, yes: true }, env()).map(commandLine), [
            `pulumi config set --stack staging image ${image}`,
            "pulumi up --stack staging --policy-pack policy --yes",
        ]);
    });

    test("the repository may come from IMAGE_REPOSITORY, as the workflows set it", () => {
        const [build] = planRelease({ stack: "staging", tag: "1.4.2" }, env({ env: { IMAGE_REPOSITORY: REPO } }));
        assert.equal(commandLine(build), `docker build --platform linux/amd64 --build-context django-platform-settings=python/django-platform-settings --tag ${REPO}:1.4.2 app`);
    });

    test("--context builds another Django project, tagged with that project's commit", () => {
        const asked: string[] = [];
        const [build] = planRelease({ stack: "staging", repository: REPO, context: own }, env({ cleanCommit: (context) => (asked.push(context), "feedc0de") }));
        assert.equal(commandLine(build), `docker build --platform linux/amd64 --build-context django-platform-settings=python/django-platform-settings --tag ${REPO}:feedc0de ${own}`);
        assert.deepEqual(asked, [own]);
        const [relative] = planRelease({ stack: "staging", repository: REPO, tag: "1.4.2", context: "app" }, env());
        assert.deepEqual(relative.argv.slice(-2), [`${REPO}:1.4.2`, "app"]);
    });

    test("the command line takes --context; without it the context is app/", () => {
        assert.equal(parseReleaseArgs(["--stack", "staging", "--context", "../site"]).context, "../site");
        assert.equal(parseReleaseArgs(["--stack", "staging"]).context, undefined);
    });

    test("a failed push says how to give docker credentials for the registry", () => {
        const push = planRelease({ stack: "staging", repository: REPO }, env())[1];
        assert.match(push.hint ?? "", /run `gcloud auth configure-docker europe-west1-docker\.pkg\.dev` once on this machine/);
    });

    const errors: [string, Parameters<typeof planRelease>[0], Partial<ReleaseEnvironment>, string][] = [
        ["unknown stack file", { stack: "qa", repository: REPO }, {}, `--stack qa: Pulumi.qa.yaml not found in ${dir}. Fix: create the stack first (docs/bootstrap.md), or pick an existing one.`],
        ["bad stack name", { stack: "-x", repository: REPO }, {}, '--stack "-x" is not a stack name. Fix: --stack staging (letters, digits, ".", "_", "-").'],
        ["image by tag", { stack: "staging", image: `${REPO}:1.4.2` }, {}, `--image "${REPO}:1.4.2" is not pinned by digest. Fix: --image <repository>@sha256:<64 hex digits> (tags can be moved; digests cannot).`],
        ["image with tag", { stack: "staging", image: `${REPO}@${DIGEST}`, tag: "x" }, {}, "--image deploys an image that is already pushed; it cannot be combined with --repository, --tag or --context. Fix: drop --image to build, or drop --repository/--tag/--context."],
        ["image with context", { stack: "staging", image: `${REPO}@${DIGEST}`, context: own }, {}, "--image deploys an image that is already pushed; it cannot be combined with --repository, --tag or --context. Fix: drop --image to build, or drop --repository/--tag/--context."],
        ["context without Dockerfile", { stack: "staging", repository: REPO, context: "site" }, {}, `--context site: no Dockerfile in ${join(dir, "site")}. Fix: --context <the directory of your Django project's Dockerfile> (default: app, the reference app).`],
        ["no repository", { stack: "staging" }, {}, "no image repository. Fix: --repository <region>-docker.pkg.dev/<project>/<repository>/app, or set IMAGE_REPOSITORY (the bootstrap prints it as imageRepository)."],
        ["repository with tag", { stack: "staging", repository: `${REPO}:1` }, {}, `--repository "${REPO}:1" must be an image name without tag or digest, e.g. europe-west1-docker.pkg.dev/acme/django-platform/app.`],
        ["dirty work tree", { stack: "staging", repository: REPO }, { cleanCommit: () => undefined }, "the work tree has uncommitted changes, so the commit SHA would not describe the image. Fix: commit (or stash) them, or pass --tag <tag> explicitly."],
        ["latest", { stack: "staging", repository: REPO, tag: "latest" }, {}, '--tag "latest" is not a pinned Docker tag. Fix: use the commit SHA or a version such as 1.4.2 (never latest).'],
    ];
    for (const [name, options, over, message] of errors) {
        test(`refuses: ${name}`, () => {
            assert.throws(() => planRelease(options, env(over)), { name: "ReleaseError", message });
        });
    }

    test("refuses a build context that would hold a google-github-actions/auth credentials file", () => {
        // The action writes gha-creds-<random>.json into the workspace root (its README); a context
        // that is the root, or contains it, would copy a live token into the image.
        const project = mkdtempSync(join(tmpdir(), "release-test-creds-"));
        try {
            writeFileSync(join(project, "Pulumi.staging.yaml"), "config: {}\n");
            writeFileSync(join(project, "Dockerfile"), "FROM scratch\n");
            mkdirSync(join(project, "app"));
            writeFileSync(join(project, "app", "Dockerfile"), "FROM scratch\n");
            const creds = join(project, "gha-creds-0123456789abcdef.json");
            writeFileSync(creds, "{}");
            const inProject = (context: string) => () => planRelease({ stack: "staging", repository: REPO, tag: "1.4.2", context }, env({ projectDir: project }));
            for (const context of [".", project, "app/.."]) {
                assert.throws(inProject(context), { name: "ReleaseError", message: `--context ${context}: the build context would include ${creds}, a Google credentials file (google-github-actions/auth writes one into the workspace). Fix: build a directory that does not hold it (the default, --context app, does not), or delete the file.` });
            }
            // The parent of the project contains it too.
            assert.deepEqual(credentialsInContext(project, ".."), [creds]);
            // app/ does not contain the root: its build goes ahead.
            assert.equal(commandLine(inProject("app")()[0]), `docker build --platform linux/amd64 --build-context django-platform-settings=python/django-platform-settings --tag ${REPO}:1.4.2 app`);
            // A credentials file inside the context itself.
            writeFileSync(join(project, "app", "gha-creds-x.json"), "{}");
            assert.throws(inProject("app"), /--context app: the build context would include .*app\/gha-creds-x\.json/);
        } finally {
            rmSync(project, { recursive: true, force: true });
        }
    });

    test("pickDigest takes this repository's digest out of docker's RepoDigests", () => {
        assert.equal(pickDigest(`mirror.example/app@sha256:${"0".repeat(64)}\n${REPO}@${DIGEST}\n`, REPO), `${REPO}@${DIGEST}`);
        assert.throws(() => pickDigest("\n", REPO), /docker reported no digest for europe-west1-docker\.pkg\.dev\/acme\/django-platform\/app/);
    });
});

describe("release command with fake docker and pulumi", () => {
    const bin = join(dir, "bin");
    const log = join(dir, "calls.log");
    const fake = (name: string, body: string) => {
        writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> "$RELEASE_LOG"\n${body}\n`);
        chmodSync(join(bin, name), 0o755);
    };
    mkdirSync(bin);
    fake("pulumi", "exit 0");

    const release = (...args: string[]) => {
        rmSync(log, { force: true });
        const result = spawnSync(join(ROOT, "node_modules", ".bin", "tsx"), [join(ROOT, "cli", "release.ts"), ...args], {
            cwd: dir,
            encoding: "utf8",
            env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, RELEASE_LOG: log },
        });
        const calls = (() => {
            try {
                return readFileSync(log, "utf8").trim().split("\n");
            } catch {
                return [];
            }
        })();
        return { ...result, calls };
    };

    test("runs every step in order and deploys the digest docker reported", () => {
        fake("docker", `[ "$1" = image ] && printf '%s\\n' "${REPO}@${DIGEST}"\nexit 0`);
        const run = release("--stack", "staging", "--repository", REPO, "--tag", "abc1234", "--yes");
        assert.equal(run.status, 0, run.stderr);
        assert.deepEqual(run.calls, [
            `docker build --platform linux/amd64 --build-context django-platform-settings=python/django-platform-settings --tag ${REPO}:abc1234 app`,
            `docker push ${REPO}:abc1234`,
            `docker image inspect --format {{range .RepoDigests}}{{println .}}{{end}} ${REPO}:abc1234`,
            `pulumi config set --stack staging image ${REPO}@${DIGEST}`,
            "pulumi up --stack staging --policy-pack policy --yes",
        ]);
    });

    test("--context builds the user's own project directory for linux/amd64", () => {
        fake("docker", `[ "$1" = image ] && printf '%s\\n' "${REPO}@${DIGEST}"\nexit 0`);
        const run = release("--stack", "staging", "--repository", REPO, "--tag", "abc1234", "--context", own, "--yes");
        assert.equal(run.status, 0, run.stderr);
        assert.equal(run.calls[0], `docker build --platform linux/amd64 --build-context django-platform-settings=python/django-platform-settings --tag ${REPO}:abc1234 ${own}`);
        assert.equal(run.calls.length, 5, run.calls.join("\n"));
    });

    test("a failed push stops the release before pulumi runs (exit 1) and names the docker login", () => {
        fake("docker", `[ "$1" = push ] && exit 3\nexit 0`);
        const run = release("--stack", "staging", "--repository", REPO, "--tag", "abc1234");
        assert.equal(run.status, 1);
        assert.match(run.stderr, /release: step 2 \(push it\) failed with exit code 3; nothing after it ran\.\n.*gcloud auth configure-docker europe-west1-docker\.pkg\.dev/);
        assert.ok(!run.calls.some((c) => c.startsWith("pulumi")), run.calls.join("\n"));
    });

    test("--dry-run runs nothing; bad options exit 2 with the message", () => {
        const dry = release("--stack", "staging", "--image", `${REPO}@${DIGEST}`, "--dry-run");
        assert.equal(dry.status, 0, dry.stderr);
        assert.deepEqual(dry.calls, []);
        assert.match(dry.stdout, /2\. pulumi up: migrate Job → collectstatic Job → rolling update\n {3}pulumi up --stack staging --policy-pack policy\n/);
        const bad = release("--stack", "staging", "--image", `${REPO}:latest`);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /^release: --image ".*:latest" is not pinned by digest\./);
    });
});
