import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { programApis, type ProgramApis } from "./apiTable";
import { IAM_PROGRAM_TYPES, PROGRAM_TYPES } from "./deployerRoles";

/**
 * APIs of the CI home project for the bootstrap's own resources there: the state bucket (Cloud
 * Storage), the image repository (Artifact Registry), the workload identity pool and the CI service
 * accounts (IAM), CI's token exchange and impersonation (Security Token Service, IAM Service Account
 * Credentials). No stack lives there, so no key ring and no project IAM grant.
 * tests/required-apis.test.ts computes what the rendered bootstrap needs per project from
 * bootstrap/apiTable.ts and checks that this list, with the rest of {@link bootstrapApis}, covers
 * it and holds nothing unused.
 */
export const HOME_APIS: readonly string[] = [
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "storage.googleapis.com",
    "artifactregistry.googleapis.com",
];

/** APIs the bootstrap's own resources in each stack's project need: the secrets key ring and key, the deployer's custom roles and project grants. */
export const STACK_PROJECT_BOOTSTRAP_APIS: readonly string[] = ["cloudkms.googleapis.com", "iam.googleapis.com", "cloudresourcemanager.googleapis.com"];

/** The programs' APIs (the main program and the IAM step) in every mode; throws when a type of bootstrap/resourceTypes.json has no row. */
export function requiredProgramApis(): ProgramApis {
    const apis = programApis({ resources: [...PROGRAM_TYPES.resources, ...IAM_PROGRAM_TYPES.resources], invokes: [...PROGRAM_TYPES.invokes, ...IAM_PROGRAM_TYPES.invokes] });
    if (apis.missing.length > 0) {
        throw new Error(
            `bootstrap/apiTable.ts has no row for ${apis.missing.join(", ")}: the bootstrap would not know which APIs they need. ` +
                "Fix: add a row (the provider's service and its source), then `npm run gen:deployer-types`.",
        );
    }
    return apis;
}

/**
 * The APIs to enable, by project. The bootstrap cannot render each stack (it has neither their
 * config nor a way to run the main program), so every stack project gets the union over every mode
 * of the main program (bootstrap/resourceTypes.json): each type's services and each run-time
 * feature's whose trigger type some mode registers (bootstrap/apiTable.ts), those of a DNS zone too
 * (`dns.project` defaults to the stack's project). An enabled API that a stack does not use costs
 * nothing, and a later switch (e.g. `cache.mode: memorystore`) then needs no bootstrap re-run by
 * someone allowed to enable services. The home project gets {@link HOME_APIS} and what the image
 * registry's project needs (node image pulls). A DNS zone or registry in yet another project is
 * not known here: `npm run preflight` checks the stack's exact set in every project it uses.
 */
export function bootstrapApis(home: string, stackProjects: readonly string[], program: ProgramApis = requiredProgramApis()): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const add = (project: string, apis: readonly string[]) => {
        out[project] = [...new Set([...(out[project] ?? []), ...apis])].sort();
    };
    add(home, [...HOME_APIS, ...program.registry]);
    for (const project of stackProjects) {
        add(project, [...program.stack, ...program.zone, ...STACK_PROJECT_BOOTSTRAP_APIS]);
    }
    return out;
}

/** Arguments of {@link RequiredApis}. */
export interface RequiredApisArgs {
    /** The APIs to enable, by project id. */
    readonly apisByProject: Readonly<Record<string, readonly string[]>>;
}

/**
 * Enables the APIs, so the deployer never needs `serviceusage.services.enable`. They stay enabled
 * on `pulumi destroy` (`disableOnDestroy: false`): turning an API off would break whatever else in
 * the project uses it.
 */
export class RequiredApis extends pulumi.ComponentResource {
    /** One resource per project and API; other components `dependsOn` these. */
    public readonly services: gcp.projects.Service[];

    constructor(name: string, args: RequiredApisArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:project:RequiredApis", name, {}, opts);
        this.services = Object.entries(args.apisByProject).flatMap(([project, apis]) =>
            [...new Set(apis)].map((api) =>
                new gcp.projects.Service(`${name}-${project}-${api.split(".")[0]}`, {
                    project,
                    service: api,
                    disableOnDestroy: false,
                    disableDependentServices: false,
                }, { parent: this }),
            ),
        );
        this.registerOutputs({});
    }
}
