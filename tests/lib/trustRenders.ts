/**
 * Renders of everything the trust model reads (tests/lib/trustModel.ts): the bootstrap configured
 * as docs/bootstrap.md does, each stack's IAM step and each main stack, under mocks. `root` may be
 * another checkout of this repository (to run the model on an older layout).
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { runProgram, withoutStackTraces, type CaptureResult } from "../../cli/lib/mockRuntime";
import { loadStackConfig } from "../../cli/lib/stackConfig";
import type { ModelInputs } from "./trustModel";

export const ROOT = path.resolve(__dirname, "../..");

/** The repository the example bootstrap trusts, with its numeric ids. */
export const REPOSITORY = { name: "acme/django-platform", id: "456", ownerId: "123" } as const;

/** The bootstrap config of docs/bootstrap.md: the CI home project and one project per stack. */
export function bootstrapConfig(stackProjects: Readonly<Record<string, string>>, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
    const key = (k: string) => `django-platform-bootstrap:${k}`;
    return {
        "gcp:project": "acme-django-ci",
        "gcp:region": "europe-west1",
        [key("githubRepository")]: REPOSITORY.name,
        [key("githubRepositoryId")]: REPOSITORY.id,
        [key("githubOwnerId")]: REPOSITORY.ownerId,
        [key("stackProjects")]: JSON.stringify(stackProjects),
        [key("reviewers")]: JSON.stringify(["Team:1234567"]),
        [key("iamAdmins")]: JSON.stringify(["group:platform-admins@example.com"]),
        ...extra,
    };
}

/** Renders one program of `root` with a stack file of `projectDir` (or a given config). */
async function render(program: string, project: string, stack: string, config: Record<string, string>, secretKeys: string[] = []): Promise<CaptureResult> {
    return withoutStackTraces(() => runProgram({ project, stack, config, secretKeys, program }));
}

/** Every render the model needs, for `stacks` (default: both shipped stacks). */
export async function renderLayout(options: { root?: string; stacks?: readonly string[]; bootstrap: Record<string, string> }): Promise<ModelInputs> {
    const root = options.root ?? ROOT;
    const stacks: Record<string, CaptureResult> = {};
    const iam: Record<string, CaptureResult> = {};
    for (const stack of options.stacks ?? ["staging", "production"]) {
        const main = loadStackConfig({ stack, projectDir: root });
        stacks[stack] = await render(path.join(root, "index.ts"), main.project, stack, main.config, main.secretKeys);
        if (existsSync(path.join(root, "iam", "index.ts"))) {
            const own = loadStackConfig({ stack, projectDir: path.join(root, "iam") });
            iam[stack] = await render(path.join(root, "iam", "index.ts"), own.project, stack, own.config);
        }
    }
    const bootstrap = await render(path.join(root, "bootstrap", "index.ts"), "django-platform-bootstrap", "bootstrap", options.bootstrap);
    return { bootstrap, iam, stacks };
}
