/**
 * The CrossGuard entry point: `pulumi preview --policy-pack policy` runs this file, which starts
 * the pack's server. Everything else imports `./policies` instead.
 */
import { PolicyPack } from "@pulumi/policy";
import { allPolicies } from "./policies";

new PolicyPack("django-platform", {
    policies: allPolicies,
    description: "Security and reliability rules for django-platform (see docs/policies.md).",
});
