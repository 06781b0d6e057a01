/**
 * The offline runner: input parsing, the args objects policies get (as CrossGuard builds them),
 * secret envelopes, policy config, and unknown values during preview.
 */
import * as k8s from "@pulumi/kubernetes";
import type { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PackPolicy } from "../policy/lib/define";
import { UNKNOWN_STRING_SENTINEL } from "../policy/lib/values";
import { allPolicies } from "../policy/policies";
import {
    formatViolations, hasMandatory, parsePolicyConfig, parseStackExport, PolicyCrashError, PolicyInputError, runPolicies,
} from "../cli/lib/policyRunner";
import { OPAQUE_SECRET } from "../cli/lib/policyExport";
import { Fixture, secureStack, urnOf, type FixtureExport } from "./fixtures/policy/secureStack";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

/** A throw-away policy that hands its args to `inspect`. */
function probe(inspect: { resource?: (args: ResourceValidationArgs) => void; stack?: (args: StackValidationArgs) => void }, name = "probe-sees-everything"): PackPolicy {
    const meta = { name, description: "test probe", severity: "low" as const, remediationSteps: "none", enforcementLevel: "mandatory" as const, resourceTypes: [] };
    return inspect.stack
        ? { ...meta, validateStack: (args) => inspect.stack!(args) }
        : { ...meta, validateResource: (args) => inspect.resource!(args) };
}

const policy = (name: string): PackPolicy => allPolicies.find((p) => p.name === name)!;

describe("parseStackExport", () => {
    it("rejects text that is not JSON, naming the source and how to get an export", () => {
        assert.throws(() => parseStackExport("not json", "x.json"), (err: Error) =>
            err instanceof PolicyInputError && /^x\.json is not valid JSON \(.*\)\. Pass the file written by `pulumi stack export/.test(err.message));
    });
    it("names each wrong field with its path", () => {
        const doc = { version: 2, deployment: { resources: [{ type: "gcp:storage/bucket:Bucket" }, { urn: "bucket", type: "x" }] } };
        assert.throws(() => parseStackExport(JSON.stringify(doc), "old.json"), (err: Error) => {
            assert.ok(err instanceof PolicyInputError);
            assert.match(err.message, /^old\.json is not a Pulumi stack export:/);
            assert.match(err.message, /\n {2}version: must be 3/);
            assert.match(err.message, /\n {2}deployment\.resources\[0\]\.urn: /);
            assert.match(err.message, /\n {2}deployment\.resources\[1\]\.urn: must be a Pulumi URN/);
            return true;
        });
    });
    it("accepts an empty stack", async () => {
        assert.deepEqual(await runPolicies(parseStackExport('{"version":3,"deployment":{"manifest":{}}}')), []);
    });
});

describe("resource policy args", () => {
    it("are built like CrossGuard's: inputs, name, type, options, provider, isType/asType, config", async () => {
        const seen: ResourceValidationArgs[] = [];
        await runPolicies(secureStack(), undefined, { policies: [probe({ resource: (args) => { seen.push(args); } })] });
        const web = seen.find((a) => a.name === "django-web")!;
        assert.equal(web.type, "kubernetes:apps/v1:Deployment");
        assert.equal(web.urn, urnOf("kubernetes:apps/v1:Deployment", "django-web"));
        assert.equal(web.props.spec.template.spec.containers[0].name, "web");
        assert.equal(web.isType(k8s.apps.v1.Deployment), true);
        assert.equal(web.isType(k8s.apps.v1.StatefulSet), false);
        assert.equal(web.asType(k8s.apps.v1.Deployment)?.metadata?.name, "web");
        assert.equal(web.asType(k8s.core.v1.Service), undefined);
        assert.deepEqual({ type: web.provider?.type, name: web.provider?.name, ns: web.provider?.props.namespace },
            { type: "pulumi:providers:kubernetes", name: "k8s", ns: "django" });
        assert.equal(web.opts.parent, urnOf("pulumi:pulumi:Stack", "django-platform-production"));
        assert.equal(seen.find((a) => a.name === "django-db")!.opts.protect, true);
        assert.deepEqual(web.getConfig(), {});
    });
    it("skip providers, the stack, components and resources pending deletion", async () => {
        const f = new Fixture();
        f.add("django-platform:index:DjangoPlatform", "django", {}).custom = false;
        Object.assign(f.add("gcp:storage/bucket:Bucket", "old-bucket", {}), { delete: true });
        const types = new Set<string>();
        const names: string[] = [];
        await runPolicies(f.doc, undefined, { policies: [probe({ resource: (args) => { types.add(args.type); names.push(args.name); } })] });
        assert.ok(![...types].some((t) => t.startsWith("pulumi:") || t.startsWith("django-platform:")), [...types].join(", "));
        assert.ok(!names.includes("old-bucket"));
        assert.equal(names.length, secureStack().deployment.resources.length - 2);
    });
    it("turn notApplicable() into no finding", async () => {
        const violations = await runPolicies(secureStack(), undefined, { policies: [probe({ resource: (args) => args.notApplicable("not mine") })] });
        assert.deepEqual(violations, []);
    });
    it("report a crashing policy with its name and the resource", async () => {
        const crash = probe({ resource: () => { throw new TypeError("boom"); } }, "probe-crashes");
        await assert.rejects(runPolicies(secureStack(), undefined, { policies: [crash] }), (err: Error) =>
            err instanceof PolicyCrashError && /^policy probe-crashes failed on urn:pulumi:production::.*: TypeError: boom/.test(err.message));
    });
});

describe("stack policy args", () => {
    it("link parents, dependencies and property dependencies to the resources", async () => {
        const f = new Fixture();
        const component = f.add("django-platform:index:DjangoPlatform", "django", {});
        component.custom = false;
        const hpa = f.resource("django-web-hpa");
        hpa.parent = component.urn;
        Object.assign(hpa, { propertyDependencies: { spec: [f.resource("django-web").urn] } });
        let resources: PolicyResource[] = [];
        await runPolicies(f.doc, undefined, { policies: [probe({ stack: (args) => { resources = args.resources; } })] });
        const seenHpa = resources.find((r) => r.name === "django-web-hpa")!;
        assert.equal(seenHpa.parent?.type, "django-platform:index:DjangoPlatform");
        assert.deepEqual(seenHpa.dependencies.map((d) => d.name), ["django-web"]);
        assert.deepEqual(seenHpa.propertyDependencies.spec.map((d) => d.name), ["django-web"]);
        assert.equal(seenHpa.provider?.name, "k8s");
        assert.ok(!resources.some((r) => r.type.startsWith("pulumi:") || r.name === "django"), "providers, stack and components are not in resources");
    });
});

describe("secret envelopes", () => {
    it("are unwrapped: JSON plaintext, raw plaintext, value; ciphertext-only reads as [secret]", async () => {
        const f = new Fixture();
        f.inputs("django-env", "kubernetes:core/v1:ConfigMap").data = {
            A: { [SIG]: SECRET, plaintext: JSON.stringify("from-json") },
            B: { [SIG]: SECRET, plaintext: "raw text" },
            C: { [SIG]: SECRET, value: "from-value" },
            D: { [SIG]: SECRET, ciphertext: "AAAA" },
        };
        let data: Record<string, unknown> = {};
        await runPolicies(f.doc, undefined, {
            policies: [probe({ resource: (args) => { if (args.type === "kubernetes:core/v1:ConfigMap") { data = { ...args.props.data }; } } })],
        });
        assert.deepEqual(data, { A: "from-json", B: "raw text", C: "from-value", D: OPAQUE_SECRET });
    });
    it("do not hide a private key someone put in a ConfigMap", async () => {
        const f = new Fixture();
        f.inputs("django-env", "kubernetes:core/v1:ConfigMap").data.TLS = { [SIG]: SECRET, plaintext: JSON.stringify("-----BEGIN PRIVATE KEY-----\nx") };
        const violations = await runPolicies(f.doc, undefined, { policies: [policy("config-map-forbids-secret-values")] });
        assert.deepEqual(violations.map((v) => v.message), ["data key TLS looks like a secret; move it into a Secret."]);
    });
});

describe("policy config", () => {
    const insecure = (): FixtureExport => {
        const f = new Fixture();
        f.inputs("django-media-bucket").uniformBucketLevelAccess = false;
        return f.doc;
    };
    const levels = async (config: Record<string, unknown>): Promise<string[]> =>
        (await runPolicies(insecure(), config)).map((v) => `${v.policyName}:${v.enforcementLevel}`);

    it("sets enforcement levels per policy and for all", async () => {
        assert.deepEqual(await levels({}), ["storage-bucket-enforces-uniform-access:mandatory"]);
        assert.deepEqual(await levels({ "storage-bucket-enforces-uniform-access": "advisory" }), ["storage-bucket-enforces-uniform-access:advisory"]);
        assert.deepEqual(await levels({ "storage-bucket-enforces-uniform-access": { enforcementLevel: "disabled" } }), []);
        assert.deepEqual(await levels({ all: "advisory" }), ["storage-bucket-enforces-uniform-access:advisory"]);
        assert.deepEqual(await levels({ all: "advisory", "storage-bucket-enforces-uniform-access": "remediate" }), ["storage-bucket-enforces-uniform-access:mandatory"]);
    });
    it("gives policies their schema defaults merged with the given settings", async () => {
        const configs: Record<string, unknown>[] = [];
        const withSchema: PackPolicy = {
            ...probe({ resource: (args) => { configs.push(args.getConfig()); } }),
            configSchema: { properties: { globs: { type: "array", items: { type: "string" }, default: ["a*"] }, max: { type: "integer", default: 3 } } },
        };
        const one = (): FixtureExport => ({ ...secureStack(), deployment: { manifest: {}, resources: [secureStack().deployment.resources[2]] } });
        await runPolicies(one(), undefined, { policies: [withSchema] });
        await runPolicies(one(), { "probe-sees-everything": { max: 5 } }, { policies: [withSchema] });
        assert.deepEqual(configs, [{ globs: ["a*"], max: 3 }, { globs: ["a*"], max: 5 }]);
    });
    const rejects = (config: unknown, message: string) => assert.rejects(
        runPolicies(secureStack(), config as Record<string, unknown>),
        (err: Error) => err instanceof PolicyInputError && err.message === message,
    );
    const SEE = ". See docs/policies.md for every policy and its settings.";
    it("rejects an unknown policy", () => rejects({ "sql-instance-is-public": "advisory" }, `bad policy config: unknown policy "sql-instance-is-public"${SEE}`));
    it("rejects an unknown setting, listing the known ones", () => rejects(
        { "pod-drops-all-capabilities": { allowedCapabilites: [] } },
        `bad policy config: "pod-drops-all-capabilities": unknown setting "allowedCapabilites" (settings: allowedCapabilities, enforcementLevel)${SEE}`,
    ));
    it("rejects a value of the wrong type, with its path", () => rejects(
        { "kms-crypto-key-rotates-regularly": { maxRotationDays: "ninety" } },
        `bad policy config: "kms-crypto-key-rotates-regularly": maxRotationDays must be integer${SEE}`,
    ));
    it("rejects a bad list item", () => rejects(
        { "storage-bucket-enforces-public-access-prevention": { publicBuckets: ["ok", 7] } },
        `bad policy config: "storage-bucket-enforces-public-access-prevention": publicBuckets[1] must be string${SEE}`,
    ));
    it("rejects an unknown enforcement level", () => rejects(
        { "pod-pins-image-tags": "warn" },
        `bad policy config: "pod-pins-image-tags": enforcement level "warn" must be one of advisory, mandatory, remediate, disabled${SEE}`,
    ));
    it("rejects settings under all", () => rejects({ all: { publicBuckets: [] } }, `bad policy config: "all" may only set an enforcement level ("all": "advisory")${SEE}`));
    it("rejects config files that are not a JSON object", () => {
        assert.throws(() => parsePolicyConfig("[1]", "c.json"), { message: `bad policy config in c.json: it must be a JSON object keyed by policy name${SEE}` });
        assert.throws(() => parsePolicyConfig("{", "c.json"), (err: Error) => /^bad policy config in c\.json: not valid JSON \(/.test(err.message));
    });
});

/** Every path of a JSON value (objects and array elements), parents before children. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (value === null || typeof value !== "object") {
        return [prefix];
    }
    const children = Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, Array.isArray(value) ? Number(k) : k]));
    return prefix.length > 0 ? [prefix, ...children] : children;
}

function change(doc: FixtureExport, index: number, path: (string | number)[], how: "unknown" | "delete"): void {
    let parent: any = doc.deployment.resources[index].inputs;
    path.slice(0, -1).forEach((key) => { parent = parent[key]; });
    const key = path[path.length - 1];
    if (how === "unknown") {
        parent[key] = UNKNOWN_STRING_SENTINEL;
    } else if (Array.isArray(parent)) {
        parent.splice(key as number, 1);
    } else {
        delete parent[key];
    }
}

describe("unknown values (preview)", () => {
    const resourcePolicies = allPolicies.filter((p) => "validateResource" in p);
    const stackPolicies = allPolicies.filter((p) => "validateStack" in p);

    it("never crash a policy nor invent a violation, whichever input of the secure stack is unknown or missing", async () => {
        const base = secureStack();
        let variants = 0;
        const problems: string[] = [];
        for (const [index, resource] of base.deployment.resources.entries()) {
            const stackOnes = stackPolicies.filter((p) => p.resourceTypes.includes(resource.type));
            for (const path of pathsOf(resource.inputs)) {
                for (const how of ["unknown", "delete"] as const) {
                    const doc = secureStack();
                    change(doc, index, path, how);
                    variants++;
                    const alone = { ...doc, deployment: { ...doc.deployment, resources: [doc.deployment.resources[1], doc.deployment.resources[index]] } };
                    try {
                        const found = [
                            ...await runPolicies(alone, undefined, { policies: resourcePolicies }),
                            ...await runPolicies(doc, undefined, { policies: stackOnes }),
                        ];
                        if (how === "unknown" && found.length > 0) {
                            problems.push(`${resource.urn} ${path.join(".")} unknown: ${found.map((v) => `${v.policyName}: ${v.message}`).join("; ")}`);
                        }
                    } catch (err) {
                        problems.push(`${resource.urn} ${path.join(".")} ${how}: ${(err as Error).message}`);
                    }
                }
            }
        }
        assert.ok(variants > 1000, `only ${variants} variants`);
        assert.deepEqual(problems, []);
    });

    const only = async (doc: FixtureExport, name: string): Promise<string[]> =>
        (await runPolicies(doc, undefined, { policies: [policy(name)] })).map((v) => v.message);

    it("do not hide a privileged container whose image is unknown", async () => {
        const f = new Fixture();
        const web = f.inputs("django-web").spec.template.spec.containers[0];
        web.image = UNKNOWN_STRING_SENTINEL;
        web.securityContext.privileged = true;
        assert.deepEqual(await only(f.doc, "pod-forbids-privileged-containers"), ['container "web" sets securityContext.privileged: true; remove it.']);
    });
    it("do not hide a privileged container behind an unknown one", async () => {
        const f = new Fixture();
        const spec = f.inputs("django-web").spec.template.spec;
        spec.containers = [UNKNOWN_STRING_SENTINEL, { ...spec.containers[0], name: "second", securityContext: { ...spec.containers[0].securityContext, privileged: true } }];
        assert.deepEqual(await only(f.doc, "pod-forbids-privileged-containers"), ['container "second" sets securityContext.privileged: true; remove it.']);
    });
    it("do not hide an open authorized network next to an unknown one", async () => {
        const f = new Fixture();
        f.inputs("django-db").settings.ipConfiguration.authorizedNetworks = [{ value: UNKNOWN_STRING_SENTINEL }, { value: "0.0.0.0/0" }];
        assert.deepEqual(await only(f.doc, "sql-instance-forbids-open-authorized-networks"), ["authorized network 0.0.0.0/0 opens the instance to the internet; remove it."]);
    });
    it("find an HPA's Deployment through its dependency when the name is computed", async () => {
        const f = new Fixture();
        f.inputs("django-web").spec.replicas = 2;
        f.inputs("django-web").metadata.name = UNKNOWN_STRING_SENTINEL;
        f.inputs("django-web-hpa").spec.scaleTargetRef.name = UNKNOWN_STRING_SENTINEL;
        assert.equal((await only(f.doc, "hpa-target-omits-replicas")).length, 1);
    });
    it("match workloads and NetworkPolicies in a namespace whose name is computed, through the Namespace dependency", async () => {
        const nsComputed = (keepDeny: boolean): FixtureExport => {
            const f = new Fixture();
            for (const name of ["django-web", "django-default-deny"]) {
                f.inputs(name).metadata.namespace = UNKNOWN_STRING_SENTINEL;
                f.resource(name).dependencies.push(f.resource("django-ns").urn);
            }
            f.inputs("django-ns").metadata.name = UNKNOWN_STRING_SENTINEL;
            if (!keepDeny) {
                f.inputs("django-default-deny").spec.policyTypes = ["Ingress"];
            }
            return f.doc;
        };
        assert.deepEqual(await only(nsComputed(true), "workload-has-default-deny-network-policy"), []);
        assert.deepEqual(await only(nsComputed(false), "workload-has-default-deny-network-policy"),
            ["django-web is not selected by a default-deny egress NetworkPolicy in its namespace."]);
    });
    it("still report a workload with no default-deny policy anywhere when its namespace is unknown", async () => {
        const f = new Fixture();
        f.inputs("django-web").metadata.namespace = UNKNOWN_STRING_SENTINEL;
        f.remove("django-default-deny");
        assert.ok((await only(f.doc, "workload-has-default-deny-network-policy")).includes(
            "django-web is not selected by a default-deny ingress and egress NetworkPolicy in its namespace."));
    });
    it("turn a policy that reads an unknown value directly into an advisory note, as CrossGuard does", async () => {
        const f = new Fixture();
        f.inputs("django-web").spec.template = UNKNOWN_STRING_SENTINEL;
        const naive = probe({ resource: (args) => { if (args.name === "django-web") { void args.props.spec.template.spec; } } }, "probe-reads-directly");
        assert.deepEqual(await runPolicies(f.doc, undefined, { policies: [naive] }), [{
            policyName: "probe-reads-directly", enforcementLevel: "advisory", urn: f.resource("django-web").urn,
            message: "can't run policy 'probe-reads-directly' during preview: string value at .spec.template can't be known during preview",
        }]);
    });
});

describe("formatViolations", () => {
    it("prints each violation and a count summary", () => {
        const text = formatViolations([
            { policyName: "a-b", enforcementLevel: "mandatory", urn: "urn:pulumi:s::p::t::n", message: "bad" },
            { policyName: "c-d", enforcementLevel: "advisory", urn: "", message: "meh" },
        ]);
        assert.equal(text, "MANDATORY  a-b\n    urn:pulumi:s::p::t::n\n    bad\nadvisory   c-d\n    (stack)\n    meh\n2 policy violation(s): 1 mandatory, 1 advisory.");
        assert.equal(formatViolations([]), "No policy violations.");
        assert.equal(hasMandatory([{ policyName: "c-d", enforcementLevel: "advisory", urn: "", message: "" }]), false);
    });
});
