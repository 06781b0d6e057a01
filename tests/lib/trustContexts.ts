/**
 * The GitHub Actions contexts of the reachability test (tests/trust-reachability.test.ts) and the
 * assertions the trust layout must meet, as data and a function, so the same check runs on any
 * rendered layout (the current one, or an older checkout's).
 */
import { DEPLOY_REF } from "../../bootstrap/githubFederation";
import { TrustModel, capabilities, isWrite, type Capabilities, type Claims } from "./trustModel";
import { REPOSITORY } from "./trustRenders";

/** A token of a job of {@link REPOSITORY}, as GitHub's OIDC reference lists the claims. */
export function job(event: string, ref: string, workflow: string, extra: Record<string, string> = {}): Claims {
    return {
        repository: REPOSITORY.name,
        repository_id: REPOSITORY.id,
        repository_owner: REPOSITORY.name.split("/")[0],
        repository_owner_id: REPOSITORY.ownerId,
        actor: "octocat",
        run_id: "1",
        event_name: event,
        ref,
        job_workflow_ref: `${REPOSITORY.name}/.github/workflows/${workflow}@${ref}`,
        sub: `repo:${REPOSITORY.name}:${extra.environment ? `environment:${extra.environment}` : event === "pull_request" ? "pull_request" : `ref:${ref}`}`,
        ...extra,
    };
}

export const PR_REF = "refs/pull/7/merge";
const BRANCH = "refs/heads/feature";

/** Contexts that must reach nothing at all: no identity, no permission. */
export const NOTHING: Readonly<Record<string, Claims>> = {
    "a fork's pull request (GitHub issues it no OIDC token)": undefined,
    "a push to another branch": job("push", BRANCH, "deploy.yml"),
    "a push to another branch, job naming environment production": job("push", BRANCH, "deploy.yml", { environment: "production" }),
    "a pull request from a branch": job("pull_request", PR_REF, "pr.yml"),
    "a pull request whose job names environment production": job("pull_request", PR_REF, "pr.yml", { environment: "production" }),
    "a pull request whose job names environment staging": job("pull_request", PR_REF, "pr.yml", { environment: "staging" }),
    "a pull request naming preview-staging from another workflow file": job("pull_request", PR_REF, "evil.yml", { environment: "preview-staging" }),
    "pull_request_target on main naming environment production": job("pull_request_target", DEPLOY_REF, "pr-target.yml", { environment: "production" }),
    "pull_request_target of deploy.yml on main naming environment production": job("pull_request_target", DEPLOY_REF, "deploy.yml", { environment: "production" }),
    "workflow_run on main naming environment production": job("workflow_run", DEPLOY_REF, "after-ci.yml", { environment: "production" }),
    "issue_comment on main naming environment staging": job("issue_comment", DEPLOY_REF, "chatops.yml", { environment: "staging" }),
    "schedule on main": job("schedule", DEPLOY_REF, "deploy.yml"),
    "schedule on main naming environment production": job("schedule", DEPLOY_REF, "deploy.yml", { environment: "production" }),
    "workflow_dispatch of deploy.yml on main naming environment production": job("workflow_dispatch", DEPLOY_REF, "deploy.yml", { environment: "production" }),
    "workflow_dispatch of deploy.yml on a branch naming environment production": job("workflow_dispatch", BRANCH, "deploy.yml", { environment: "production" }),
    "another workflow file pushed on main naming environment production": job("push", DEPLOY_REF, "evil.yml", { environment: "production" }),
    "another workflow file pushed on main (no environment)": job("push", DEPLOY_REF, "evil.yml"),
    "merge_group on main naming environment production": job("merge_group", DEPLOY_REF, "deploy.yml", { environment: "production" }),
    "a repository that took the name after a rename (other ids)": { ...(job("push", DEPLOY_REF, "deploy.yml", { environment: "production" }) as Record<string, string>), repository_id: "999", repository_owner_id: "998" },
};

/** The jobs that deploy.yml and pr.yml run with an identity. */
export const JOBS = {
    image: job("push", DEPLOY_REF, "deploy.yml"),
    staging: job("push", DEPLOY_REF, "deploy.yml", { environment: "staging" }),
    production: job("push", DEPLOY_REF, "deploy.yml", { environment: "production" }),
    previewStaging: job("pull_request", PR_REF, "pr.yml", { environment: "preview-staging" }),
} as const;

/** The grants of a context, without those on the CI account it signs in as (its own token). */
export function reachOf(model: TrustModel, claims: Claims): ReturnType<TrustModel["reach"]> {
    const reach = model.reach(claims);
    const own = new Set(reach.principals.filter((p) => /^serviceAccount:gh-[a-z0-9-]+@/.test(p) || /^serviceAccount:github-[a-z0-9-]+@/.test(p)).map((p) => p.slice("serviceAccount:".length)));
    return { ...reach, grants: reach.grants.filter((g) => !(g.resource.includes("/serviceAccounts/") && own.has(g.resource.split("/serviceAccounts/")[1]) && /^iam\.serviceAccounts\.(get|getAccessToken|getOpenIdToken|list)$/.test(g.permission))) };
}

/** The assertions of the layout, as messages; empty when the layout holds. Shared with the run on older layouts. */
export function violations(model: TrustModel): string[] {
    const out: string[] = [];
    const caps = (claims: Claims): Capabilities => capabilities(model, reachOf(model, claims).grants);
    for (const [name, claims] of Object.entries(NOTHING)) {
        const reach = model.reach(claims);
        if (reach.grants.length > 0) {
            const c = caps(claims);
            out.push(`${name}: reaches ${reach.grants.length} grants as ${reach.principals.join(", ")} (deploy ${c.deploy.join("+") || "-"}, decrypt ${c.decrypt.join("+") || "-"}, write state ${c.writeState.join("+") || "-"}, IAM changes ${c.changeIam.length})`);
        }
    }
    const stacks = Object.keys(model.stackProjects);
    for (const stack of stacks) {
        const c = caps(JOBS[stack as "staging" | "production"]);
        const others = stacks.filter((s) => s !== stack);
        for (const [what, got] of [["deploy", c.deploy], ["decrypt", c.decrypt], ["read the state of", c.readState], ["write the state of", c.writeState]] as const) {
            if (!got.includes(stack)) {
                out.push(`environment ${stack}: cannot ${what} ${stack}`);
            }
            for (const other of got.filter((s) => others.includes(s))) {
                out.push(`environment ${stack}: can ${what} ${other}`);
            }
        }
        const foreign = c.touches.filter((o) => o !== stack && o !== "home");
        if (foreign.length > 0) {
            out.push(`environment ${stack}: touches resources of ${foreign.join(", ")}`);
        }
        const iamOutside = c.changeIam.filter((g) => !g.endsWith(`(${stack})`));
        if (iamOutside.length > 0) {
            out.push(`environment ${stack}: changes IAM outside its stack: ${iamOutside.slice(0, 5).join("; ")}${iamOutside.length > 5 ? ` and ${iamOutside.length - 5} more` : ""}`);
        }
        const homeWrites = reachOf(model, JOBS[stack as "staging" | "production"]).grants.filter((g) => model.ownerOf(g.resource) === "home" && isWrite(g.permission));
        if (homeWrites.length > 0) {
            out.push(`environment ${stack}: writes in the CI home project: ${homeWrites.slice(0, 5).map((g) => `${g.permission} ${g.resource}`).join("; ")}`);
        }
    }
    const image = reachOf(model, JOBS.image);
    const imageCaps = caps(JOBS.image);
    if (!imageCaps.pushImage) {
        out.push("the image job cannot push images");
    }
    const beyond = image.grants.filter((g) => !model.repositories().includes(g.resource));
    if (beyond.length > 0) {
        out.push(`the image job reaches more than the image repository: ${beyond.length} grants, e.g. ${beyond.slice(0, 3).map((g) => `${g.permission} ${g.resource}`).join("; ")}`);
    }
    const preview = caps(JOBS.previewStaging);
    const previewGrants = reachOf(model, JOBS.previewStaging).grants;
    if (preview.deploy.length + preview.writeState.length + preview.changeIam.length > 0 || preview.pushImage) {
        out.push(`the approved preview of staging writes: deploy ${preview.deploy.join("+")}, state ${preview.writeState.join("+")}, ${preview.changeIam.length} IAM changes`);
    }
    if (preview.touches.some((o) => o !== "staging" && o !== "home") || preview.decrypt.some((s) => s !== "staging") || preview.readState.some((s) => s !== "staging")) {
        out.push(`the approved preview of staging reaches beyond staging: ${preview.touches.join(", ")}`);
    }
    const previewWrites = previewGrants.filter((g) => isWrite(g.permission));
    if (previewWrites.length > 0) {
        out.push(`the approved preview of staging may write: ${previewWrites.slice(0, 5).map((g) => `${g.permission} ${g.resource}`).join("; ")}`);
    }
    return out;
}

