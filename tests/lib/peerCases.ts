/**
 * The peers' own test cases, translated: each file under tests/fixtures/policy/peers/ holds the
 * failing (and passing) objects that one external check's test suite uses, as the peer's
 * repository has them at a pinned commit, and says for each whether our pack fires on it.
 * tests/policy-coverage.test.ts runs every case against the policies that claim the check.
 *
 * Translation rules (the same for every file, so a case stays recognisable next to its source):
 * - Kubernetes objects (`objects`) are the peer's manifests, trimmed to what the check reads; every
 *   object is deployed with the stable API version of its kind (a peer's retired
 *   extensions/v1beta1 Deployment becomes apps/v1), as Pulumi's Kubernetes provider would have to.
 *   `kind: List` is expanded.
 * - Terraform resources (`resources`) are written as the Pulumi Google Cloud provider's inputs:
 *   camelCase names, single nested blocks as objects, repeated blocks as lists,
 *   `lifecycle.prevent_destroy` as the `protect` resource option.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { peerCasesPath } from "../../policy/externalChecks";
import { type FixtureExport, type FixtureResource, urnOf } from "../fixtures/policy/secureStack";

/** Where the translated peer cases live. */
export const PEER_DIR = resolve(__dirname, "..", "fixtures", "policy", "peers");

const PEERS = {
    checkov: "bridgecrewio/checkov",
    polaris: "FairwindsOps/polaris",
    "kube-linter": "stackrox/kube-linter",
    "kube-score": "zegl/kube-score",
} as const;

const manifest = z.looseObject({
    apiVersion: z.string().min(1),
    kind: z.string().min(1),
    metadata: z.looseObject({ name: z.string().optional(), namespace: z.string().optional() }).optional(),
});

const resource = z.strictObject({
    type: z.string().regex(/^[a-z0-9-]+:[\w./-]+:\w+$/, "a Pulumi type token"),
    name: z.string().min(1),
    inputs: z.record(z.string(), z.unknown()),
    protect: z.boolean().optional(),
    dependsOn: z.array(z.string()).optional(),
});

const peerCase = z.strictObject({
    /** The peer's file the case comes from (path in the peer repository, `#` and a test or resource name when the file holds several). */
    from: z.string().min(1),
    /** The peer's own description of the case (its comment or test name), when it has one. */
    note: z.string().optional(),
    /**
     * Set when the case is not the peer's own but one changed from it (what changed): kept where the
     * peer's suite has no case for a behaviour we must show (a failing case we catch, or one we pass
     * on purpose). Its `peer` verdict is what the peer's check at the pinned commit returns on it
     * (run for this translation), not a guess.
     */
    derived: z.string().min(10).optional(),
    /** The peer's verdict on the case. */
    peer: z.enum(["fail", "pass"]),
    /** What our pack does: `fire` (a policy claiming the check reports) or `quiet`. */
    ours: z.enum(["fire", "quiet"]),
    /** Required where we disagree with the peer: why (looser or stricter, and on purpose or not). */
    why: z.string().min(20).optional(),
    /**
     * The peer fails the case for something that does not happen on a real cluster or project (a
     * rule for a resource in an API group that has no such resource, a Terraform file that names
     * two resources alike…): our quiet verdict then does not make the check partly covered. `why`
     * says what the artefact is.
     */
    artefact: z.boolean().optional(),
    objects: z.array(manifest).optional(),
    resources: z.array(resource).optional(),
    /** Only violations whose message matches count (overrides the file's `about`). */
    about: z.string().optional(),
    /** Stack name (production-only policies apply to `production`). @default "production" */
    stack: z.string().optional(),
    /** Policy config for the run, Pulumi format. */
    config: z.record(z.string(), z.unknown()).optional(),
}).refine((c) => (c.objects?.length ?? 0) + (c.resources?.length ?? 0) > 0, "a case needs objects or resources")
    .refine((c) => (c.peer === "fail") === (c.ours === "fire") || c.why !== undefined, "a case where we disagree with the peer needs `why`")
    .refine((c) => c.artefact !== true || (c.peer === "fail" && c.ours === "quiet"), "only a case the peer fails and we pass can be an artefact");

const peerFile = z.strictObject({
    check: z.string().min(1),
    peer: z.strictObject({
        repository: z.enum(Object.values(PEERS) as [string, ...string[]]),
        commit: z.string().regex(/^[0-9a-f]{40}$/),
        /** The check's own source file in the peer repository. */
        check: z.string().min(1),
        license: z.enum(["Apache-2.0", "MIT"]),
    }),
    /**
     * A regular expression: only violations whose message matches count for this check, when the
     * policies that claim it also enforce other checks (e.g. pod-drops-all-capabilities). @default every violation
     */
    about: z.string().optional(),
    cases: z.array(peerCase).min(1),
});

/** One case of a peer's test suite, translated. */
export type PeerCase = z.infer<typeof peerCase>;

/** The translated cases of one external check. */
export interface PeerFixture extends z.infer<typeof peerFile> {
    /** The file, relative to the repository root. */
    readonly file: string;
    /** The file's text (its header carries the source and licence notice). */
    readonly text: string;
}

/** The file a check's fixture is in, from the repository root: `CKV_K8S_8` → tests/fixtures/policy/peers/checkov/CKV_K8S_8.yaml. */
export const peerFileOf = peerCasesPath;

/** Every translated peer fixture, validated. */
export function loadPeerFixtures(): PeerFixture[] {
    const fixtures: PeerFixture[] = [];
    for (const tool of Object.keys(PEERS)) {
        let names: string[] = [];
        try {
            names = readdirSync(join(PEER_DIR, tool)).filter((n) => n.endsWith(".yaml")).sort();
        } catch {
            continue;
        }
        for (const name of names) {
            const path = join(PEER_DIR, tool, name);
            const text = readFileSync(path, "utf8");
            const file = relative(resolve(PEER_DIR, "..", "..", "..", ".."), path);
            const parsed = peerFile.safeParse(parse(text));
            if (!parsed.success) {
                throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
            }
            fixtures.push({ ...parsed.data, file, text });
        }
    }
    return fixtures;
}

/** The repository a tool's checks come from. */
export function repositoryOf(tool: keyof typeof PEERS): string {
    return PEERS[tool];
}

/**
 * The stable API version of each kind the pack reads. A peer's manifest may name a retired version
 * (extensions/v1beta1, batch/v1beta1…) or, in a few test files, a wrong one (`v1` for a
 * PodDisruptionBudget): the peers match objects by kind, so the case keeps its meaning.
 */
const STABLE_API: Readonly<Record<string, string>> = {
    Pod: "v1", Service: "v1", ConfigMap: "v1", Secret: "v1", ServiceAccount: "v1", Namespace: "v1",
    PersistentVolumeClaim: "v1", ReplicationController: "v1",
    Deployment: "apps/v1", DaemonSet: "apps/v1", ReplicaSet: "apps/v1", StatefulSet: "apps/v1",
    Job: "batch/v1", CronJob: "batch/v1",
    PodDisruptionBudget: "policy/v1",
    HorizontalPodAutoscaler: "autoscaling/v2",
    Ingress: "networking.k8s.io/v1", NetworkPolicy: "networking.k8s.io/v1",
    Role: "rbac.authorization.k8s.io/v1", ClusterRole: "rbac.authorization.k8s.io/v1",
    RoleBinding: "rbac.authorization.k8s.io/v1", ClusterRoleBinding: "rbac.authorization.k8s.io/v1",
};

function stableApiVersion(apiVersion: string, kind: string): string {
    return STABLE_API[kind] ?? apiVersion;
}

/** The Pulumi type token of a Kubernetes object: `kubernetes:apps/v1:Deployment`, `kubernetes:core/v1:Pod`. */
export function kubernetesType(apiVersion: string, kind: string): string {
    return `kubernetes:${apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`}:${kind}`;
}

const STACK_RESOURCE = "pulumi:pulumi:Stack";
const K8S_PROVIDER_TYPE = "pulumi:providers:kubernetes";

/** The stack export a case deploys: its Kubernetes objects (through a provider with no namespace) and its resources. */
export function exportOf(c: PeerCase): FixtureExport {
    const stack = c.stack ?? "production";
    const stackUrn = urnOf(STACK_RESOURCE, `peer-${stack}`, stack);
    const providerUrn = urnOf(K8S_PROVIDER_TYPE, "k8s", stack);
    const used = new Set<string>();
    const unique = (name: string): string => {
        let candidate = name;
        for (let i = 2; used.has(candidate); i++) {
            candidate = `${name}-${i}`;
        }
        used.add(candidate);
        return candidate;
    };
    const objects = (c.objects ?? []).flatMap((o) => (o.kind === "List" ? ((o as { items?: unknown[] }).items ?? []) as typeof c.objects & object : [o]));
    const kubernetes: FixtureResource[] = objects.map((o, index) => {
        const apiVersion = stableApiVersion(o.apiVersion, o.kind);
        const type = kubernetesType(apiVersion, o.kind);
        const metadata = o.metadata ?? {};
        const name = unique(`${o.kind.toLowerCase()}-${metadata.name ?? index}${metadata.namespace !== undefined ? `-${metadata.namespace}` : ""}`);
        return {
            urn: urnOf(type, name, stack), custom: true, type, id: `${name}-id`, parent: stackUrn,
            provider: `${providerUrn}::k8s-id`, dependencies: [], inputs: { ...o, apiVersion }, outputs: {},
        };
    });
    const gcp: FixtureResource[] = (c.resources ?? []).map((r) => {
        const name = unique(r.name);
        return {
            urn: urnOf(r.type, name, stack), custom: true, type: r.type, id: `${name}-id`, parent: stackUrn,
            dependencies: [], inputs: r.inputs, outputs: {}, ...(r.protect !== undefined ? { protect: r.protect } : {}),
        };
    });
    for (const [index, r] of (c.resources ?? []).entries()) {
        gcp[index].dependencies = (r.dependsOn ?? []).map((dep) => {
            const target = [...kubernetes, ...gcp].find((x) => x.urn.endsWith(`::${dep}`));
            if (target === undefined) {
                throw new Error(`${c.from}: dependsOn ${dep} is not a resource of the case`);
            }
            return target.urn;
        });
    }
    return {
        version: 3,
        deployment: {
            manifest: { time: "2025-01-01T00:00:00Z", magic: "", version: "v3.200.0" },
            resources: [
                { urn: stackUrn, custom: false, type: STACK_RESOURCE, dependencies: [], inputs: {}, outputs: {} },
                { urn: providerUrn, custom: true, type: K8S_PROVIDER_TYPE, id: "k8s-id", parent: stackUrn, dependencies: [], inputs: {}, outputs: {} },
                ...kubernetes,
                ...gcp,
            ],
        },
    };
}
