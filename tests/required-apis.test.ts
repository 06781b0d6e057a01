/**
 * The Google APIs each project needs, computed from the resource graph (bootstrap/apiTable.ts):
 * the bootstrap enables, in the right project, everything any mode of either stack needs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { BOOTSTRAP_PROJECT } from "../bootstrap/config";
import { findAll, runProgram, type CapturedResource } from "../tools/lib/mockRuntime";

const ROOT = join(__dirname, "..");
const REPO = "acme/django-platform";

/** `gcp:project` and `gcp:region` of a main stack file. */
function stackFile(stack: string): { project: string; region: string } {
    const config = (parse(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, string> }).config;
    return { project: config["gcp:project"], region: config["gcp:region"] };
}

const staging = stackFile("staging");
const production = stackFile("production");

/** project → services the bootstrap's `projects.Service` resources enable there. */
function enabledByProject(resources: readonly CapturedResource[]): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const s of findAll(resources, "gcp:projects/service:Service")) {
        const project = String(s.inputs.project);
        out.set(project, new Set([...(out.get(project) ?? []), String(s.inputs.service)]));
    }
    return out;
}

describe("the bootstrap enables the APIs of the stacks' projects", () => {
    let enabled: Map<string, Set<string>>;

    before(async () => {
        const result = await runProgram({
            project: BOOTSTRAP_PROJECT,
            stack: "bootstrap",
            program: join(ROOT, "bootstrap", "index.ts"),
            config: {
                "gcp:project": staging.project,
                "gcp:region": staging.region,
                [`${BOOTSTRAP_PROJECT}:githubRepository`]: REPO,
                [`${BOOTSTRAP_PROJECT}:stackProjects`]: JSON.stringify({ production: production.project }),
            },
        });
        enabled = enabledByProject(result.resources);
    });

    test("production's own project (not the home project) gets the IAM Service Account Credentials and STS APIs Workload Identity uses", () => {
        assert.notEqual(production.project, staging.project, "the stack files put production in its own project");
        for (const api of ["iamcredentials.googleapis.com", "sts.googleapis.com"]) {
            assert.ok(enabled.get(production.project)?.has(api), `${api} is not enabled in ${production.project}: enabled there: ${[...(enabled.get(production.project) ?? [])].join(", ")}`);
        }
    });
});
