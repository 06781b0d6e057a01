/**
 * The IAM step's program, as a function of its validated config, so tests and the type generator
 * render it with any stack config (iam/index.ts is the entry point `pulumi up` runs).
 */
import * as pulumi from "@pulumi/pulumi";
import { ROLE_IDS, ciMember, customRoleName } from "../bootstrap/ciNames";
import { stackIdentities } from "../components/identities";
import { artifactRegistryRepositories } from "../components/imageRef";
import type { IamConfig } from "./config";
import { StackIam } from "./stackIam";

/** What the IAM step exports. */
export interface IamOutputs {
    /** The stack's accounts by role (`web`, `collectstatic`, `worker-<name>`, `nodes`). */
    readonly serviceAccounts: pulumi.Output<Record<string, string>>;
    /** The deployer the grants are for. */
    readonly deployer: string;
}

/** Registers the stack's identities and grants. */
export function buildIam(cfg: IamConfig): IamOutputs {
    const platform = cfg.platform;
    const deployer = ciMember({ kind: "deploy", stack: platform.stack }, cfg.ciProject);
    const iam = new StackIam("iam", {
        identities: stackIdentities(platform),
        deployer,
        podBinderRole: customRoleName(platform.project, ROLE_IDS.podBinder),
        urlSignerRole: customRoleName(platform.project, ROLE_IDS.urlSigner),
        imageRepositories: artifactRegistryRepositories([platform.image, platform.cache.image]),
        existingNodeServiceAccount: platform.cluster.mode === "existing" ? platform.cluster.nodeServiceAccount : undefined,
        adoptExisting: cfg.adoptExisting,
    });
    return { serviceAccounts: iam.emails, deployer };
}
