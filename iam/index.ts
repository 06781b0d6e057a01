/**
 * The IAM step: a stack's Google service accounts and project grants, run by a person (never CI)
 * before the stack's first deploy and whenever its identities change. Same stack names as the main
 * project; reads the main stack's file. See docs/bootstrap.md ("The IAM step").
 */
import { loadIamConfig } from "./config";
import { buildIam } from "./program";

const outputs = buildIam(loadIamConfig());

/** The stack's accounts by role; `pulumi up` of the main stack looks them up by id. */
export const serviceAccounts = outputs.serviceAccounts;
/** The CI deployer the grants on the accounts are for. */
export const deployer = outputs.deployer;
