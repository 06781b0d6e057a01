/**
 * Connectivity, as the cluster would enforce it: the NetworkPolicies the program renders for each
 * stack and mode, evaluated by a NetworkPolicy model (tests/lib/networkPolicyModel.ts) against a
 * table of flows the platform needs (DNS on every GKE resolver path, the metadata server, Google
 * APIs, Cloud SQL, Redis, the load balancer) and flows that must stay closed. Each row cites where
 * the requirement comes from. Endpoints, addresses and ports are read from the rendered objects
 * (pod templates, Services, the env contract, mocked cloud outputs), not restated here.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { CapturedResource } from "../cli/lib/mockRuntime";
import { Overrides, Rendered, T, renderStack } from "./helpers/platform";
import {
    ClusterModel,
    Endpoint,
    FlowExpectation,
    IpEndpoint,
    NetworkPolicy,
    NetworkPolicySpec,
    PodEndpoint,
    Protocol,
    checkFlows,
    evaluate,
    ipInCidr,
    policiesSelecting,
    ruleId,
} from "./lib/networkPolicyModel";

/* eslint-disable @typescript-eslint/no-explicit-any */

// ---------------------------------------------------------------------------------------------
// Where requirements come from

const SRC = {
    serviceDiscovery: "https://cloud.google.com/kubernetes-engine/docs/concepts/service-discovery",
    cloudDns: "https://cloud.google.com/kubernetes-engine/docs/how-to/cloud-dns",
    nodeLocalDns: "https://cloud.google.com/kubernetes-engine/docs/how-to/nodelocal-dns-cache ; terraform-provider-google issue 10262 (\"Addons {dns-cache} are required to be enabled for Autopilot clusters\")",
    workloadIdentity: "https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity",
    googleApis: "https://cloud.google.com/vpc/docs/configure-private-google-access#domain-options (private.googleapis.com 199.36.153.8/30; the stack's private zone googleapis.com sends every API name there, components/network.ts)",
    cloudSqlProxy: "https://cloud.google.com/sql/docs/postgres/sql-proxy (the Auth Proxy reaches the instance on port 3307) ; components/kube.ts cloudSqlProxySidecar",
    cloudSqlPrivateIp: "https://cloud.google.com/sql/docs/postgres/configure-private-ip ; components/appEnv.ts DJANGO_APP_DB_HOST/PORT",
    lbRanges: "https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges",
    netpol: "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
    cache: "components/cache.ts (Redis clients are the web pods; replicas follow the master)",
    cacheClosed: "components/cache.ts (nothing else leaves or reaches the Redis pods)",
    egress: "components/networkPolicies.ts django-egress (Google APIs over TLS on Private Google Access's range only)",
    internet: "components/networkPolicies.ts django-internet-egress (network.egressAllowList, TCP 443, for web, workers, CronJobs, npm run manage; never the release Jobs; no private ranges inside an allowed one)",
    database: "components/networkPolicies.ts django-database-egress (the pods that use the database; collectstatic writes static files only)",
    webIngress: "components/networkPolicies.ts web-ingress (only the load balancer reaches the web port)",
    cacheClients: "components/networkPolicies.ts CACHE_CLIENT_LABELS (web pods and workers use Redis; Jobs and CronJobs do not)",
    noIngress: "components/workers.ts, components/schedules.ts (workers and CronJob pods serve nothing: no ingress)",
} as const;

// ---------------------------------------------------------------------------------------------
// Variants

interface Variant {
    readonly title: string;
    readonly stack: string;
    readonly overrides: Overrides;
}

const VARIANTS: readonly Variant[] = [
    { title: "staging", stack: "staging", overrides: {} },
    { title: "production", stack: "production", overrides: {} },
    { title: "staging, database.connector private-ip", stack: "staging", overrides: { "django-platform:database": { connector: "private-ip" } } },
    { title: "staging, cache.mode memorystore (5 GB, 1 replica)", stack: "staging", overrides: { "django-platform:cache": { mode: "memorystore", replicas: 1, memorySizeGb: 5 } } },
    { title: "staging, cache.mode memorystore without TLS", stack: "staging", overrides: { "django-platform:cache": { mode: "memorystore", replicas: 1, memorySizeGb: 5, transitEncryption: false } } },
    { title: "staging, cache.replicas 0", stack: "staging", overrides: { "django-platform:cache": { replicas: 0 } } },
    { title: "staging, statics.cdn on", stack: "staging", overrides: { "django-platform:statics": { cdn: { enabled: true, domain: "static.staging.example.com" } } } },
    { title: "production, statics.cdn off", stack: "production", overrides: { "django-platform:statics": { cdn: { enabled: false } } } },
    {
        title: "staging, a worker, database.connector private-ip",
        stack: "staging",
        // db-g1-small: db-f1-micro has no room for a worker's rollout in the connection budget.
        overrides: { "django-platform:database": { connector: "private-ip", tier: "db-g1-small" }, "django-platform:workers": { mail: { command: ["python", "manage.py", "demo_worker"] } } },
    },
    { title: "production, network.egressAllowList one range", stack: "production", overrides: { "django-platform:network": { egressAllowList: ["203.0.113.0/24"] } } },
    { title: "staging, network.egressAllowList 0.0.0.0/0", stack: "staging", overrides: { "django-platform:network": { egressAllowList: ["0.0.0.0/0"] } } },
];

// ---------------------------------------------------------------------------------------------
// What a rendered stack looks like to the network

/** A pod template of the stack. */
interface Pod {
    readonly resource: string;
    readonly role: string;
    readonly endpoint: PodEndpoint;
    /** False when the workload runs no pods (`replicas: 0`). */
    readonly running: boolean;
    readonly spec: any;
}

/** Where a client connects to: pods (through a Service) or an IP, on a port. */
type Target = { readonly endpoint: Endpoint; readonly port: number; readonly pods?: readonly Pod[] };

interface Snapshot {
    readonly variant: Variant;
    readonly rendered: Rendered;
    readonly namespace: string;
    readonly policies: NetworkPolicy[];
    readonly cluster: ClusterModel;
    readonly pods: Pod[];
    readonly django: Pod[];
    readonly web: Pod;
    readonly webPort: number;
    /** Pods that talk to the database, and where to. */
    readonly dbClients: Pod[];
    /** `network.egressAllowList` of the render. */
    readonly egressAllowList: readonly string[];
    readonly db: { readonly address: string; readonly port: number; readonly privateServicesCidr: string };
    /** The cache the app dials: master first, then read replicas (from DJANGO_APP_CACHE_LOCATION). */
    readonly cacheMaster: Target;
    readonly cacheReplicas: Target[];
    /** In-cluster Redis pods. */
    readonly redisMaster: Pod[];
    readonly redisReplicas: Pod[];
    /** Where each in-cluster replica's `--replicaof` points. */
    readonly replicaOf?: Target;
}

const POD_TEMPLATES: Record<string, (inputs: any) => any> = {
    [T.deployment]: (i) => i.spec.template,
    [T.statefulSet]: (i) => i.spec.template,
    [T.job]: (i) => i.spec.template,
    "kubernetes:batch/v1:CronJob": (i) => i.spec.jobTemplate.spec.template,
};

const outName = (r: CapturedResource): string => (r.outputs as any).metadata.name;
const containersOf = (spec: any): any[] => [...(spec.initContainers ?? []), ...spec.containers];

function podsOf(r: Rendered): Pod[] {
    return r.resources
        .filter((x) => x.type in POD_TEMPLATES)
        .map((x) => {
            const inputs = x.inputs as any;
            const template = POD_TEMPLATES[x.type](inputs);
            const labels = template.metadata.labels as Record<string, string>;
            const ports = containersOf(template.spec).flatMap((c: any) => c.ports ?? []);
            return {
                resource: x.name,
                role: labels["app.kubernetes.io/component"],
                endpoint: { kind: "pod", namespace: inputs.metadata.namespace, labels, ports, name: labels["app.kubernetes.io/component"] },
                running: inputs.spec.replicas !== 0,
                spec: template.spec,
            } satisfies Pod;
        });
}

function policiesOf(r: Rendered): NetworkPolicy[] {
    return r.all(T.networkPolicy).map((p) => ({ name: p.name, namespace: (p.inputs as any).metadata.namespace, spec: (p.inputs as any).spec as NetworkPolicySpec }));
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * Resolves `host:port` as the dataplane sees it: an IP is an IP endpoint; a Service name (`svc.ns`,
 * `svc.ns.svc.cluster.local`) becomes the Service's pods on its target port, since NetworkPolicies
 * apply after the Service's address translation.
 */
function resolve(r: Rendered, pods: Pod[], host: string, port: number): Target {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
        return { endpoint: { kind: "ip", address: host, name: "Memorystore" }, port };
    }
    const [svcName, ns] = host.split(".");
    const svc = r.all(T.service).find((s) => outName(s) === svcName && (ns === undefined || (s.inputs as any).metadata.namespace === ns));
    assert.ok(svc, `no Service for ${host}`);
    const spec = (svc.inputs as any).spec;
    const backends = pods.filter((p) => p.endpoint.namespace === (svc.inputs as any).metadata.namespace && selects(spec.selector, p.endpoint.labels));
    assert.ok(backends.length > 0, `Service ${svcName} selects no pod template`);
    const servicePort = spec.ports.find((p: any) => p.port === port);
    assert.ok(servicePort, `Service ${svcName} has no port ${port}`);
    const target = servicePort.targetPort ?? port;
    const containerPort = typeof target === "number" ? target : backends[0].endpoint.ports?.find((p) => p.name === target)?.containerPort;
    assert.ok(typeof containerPort === "number", `Service ${svcName} targetPort ${target} is no container port`);
    return { endpoint: backends[0].endpoint, port: containerPort, pods: backends };
}

/** `redis://host:port/0` or `rediss://…`; Redis' default port when none is given. */
function parseRedisUrl(url: string): { host: string; port: number } {
    const u = new URL(url);
    assert.match(u.protocol, /^rediss?:$/, url);
    return { host: u.hostname, port: u.port ? Number(u.port) : 6379 };
}

function snapshot(variant: Variant, r: Rendered): Snapshot {
    const namespaceResource = r.one(T.namespace);
    const namespace = outName(namespaceResource);
    const policies = policiesOf(r);
    const cluster: ClusterModel = { policies, namespaceLabels: { [namespace]: (namespaceResource.inputs as any).metadata.labels ?? {} } };
    const pods = podsOf(r);

    // Django pods: whatever runs with the app's env contract.
    const env = r.one(T.configMap);
    const envName = outName(env);
    const django = pods.filter((p) => p.running && containersOf(p.spec).some((c) => (c.envFrom ?? []).some((e: any) => e.configMapRef?.name === envName)));
    const web = django.find((p) => p.resource === r.one(T.deployment, "django-workload-web").name)!;
    const webPort = web.endpoint.ports!.find((p) => p.name === "http")!.containerPort;

    // Database: the Auth Proxy sidecar reaches the instance's private IP on 3307; without it the app
    // dials DJANGO_APP_DB_HOST:DJANGO_APP_DB_PORT itself.
    const data = (env.inputs as any).data;
    const instanceIp = (r.one(T.sqlInstance).outputs as any).privateIpAddress as string;
    const range = r.all(T.globalAddress).find((a) => (a.inputs as any).purpose === "VPC_PEERING")!;
    const privateServicesCidr = `${(range.outputs as any).address}/${(range.inputs as any).prefixLength}`;
    const withProxy = django.filter((p) => containersOf(p.spec).some((c) => /cloud-sql-proxy/.test(c.image)));
    const db = withProxy.length > 0
        ? { address: instanceIp, port: 3307, privateServicesCidr }
        : { address: data.DJANGO_APP_DB_HOST as string, port: Number(data.DJANGO_APP_DB_PORT), privateServicesCidr };
    // With the proxy: the pods that run it; without: every Django pod but collectstatic, which never connects.
    const dbClients = withProxy.length > 0 ? withProxy : django.filter((p) => p.role !== "collectstatic");
    const egressAllowList: string[] = (variant.overrides["django-platform:network"] as any)?.egressAllowList ?? [];

    // Cache: what the app dials (django-redis writes to the first location, reads from the others).
    const locations = (data.DJANGO_APP_CACHE_LOCATION as string).split(" ").map(parseRedisUrl);
    const [cacheMaster, ...cacheReplicas] = locations.map((l) => resolve(r, pods, l.host, l.port));
    const redisMaster = (cacheMaster.pods ?? []).filter((p) => p.running);
    const redisReplicas = pods.filter((p) => p.running && containersOf(p.spec).some((c) => (c.args ?? []).includes("--replicaof")));
    let replicaOf: Target | undefined;
    if (redisReplicas.length > 0) {
        const args: string[] = containersOf(redisReplicas[0].spec).find((c) => (c.args ?? []).includes("--replicaof")).args;
        const i = args.indexOf("--replicaof");
        replicaOf = resolve(r, pods, args[i + 1], Number(args[i + 2]));
    }
    return { variant, rendered: r, namespace, policies, cluster, pods, django, web, webPort, dbClients, egressAllowList, db, cacheMaster, cacheReplicas, redisMaster, redisReplicas, replicaOf };
}

// ---------------------------------------------------------------------------------------------
// The table

const pod = (namespace: string, labels: Record<string, string>, name: string): PodEndpoint => ({ kind: "pod", namespace, labels, name });
const ip = (address: string, name?: string): IpEndpoint => ({ kind: "ip", address, name });
const tcp = (port: number) => ({ port, protocol: "TCP" as Protocol });
const udp = (port: number) => ({ port, protocol: "UDP" as Protocol });
type PortSpec = ReturnType<typeof tcp>;

function row(expect: "allowed" | "denied", from: Endpoint, to: Endpoint, p: PortSpec, source: string): FlowExpectation {
    const label = (e: Endpoint) => (e.kind === "ip" ? (e.name ? `${e.name} ${e.address}` : e.address) : e.name ?? JSON.stringify(e.labels));
    return { from, to, ...p, expect, source, name: `${label(from)} → ${label(to)} ${p.protocol}/${p.port}` };
}
const allowed = (from: Endpoint, to: Endpoint, p: PortSpec, source: string) => row("allowed", from, to, p, source);
const denied = (from: Endpoint, to: Endpoint, p: PortSpec, source: string) => row("denied", from, to, p, source);

const KUBE_DNS = pod("kube-system", { "k8s-app": "kube-dns" }, "kube-dns pod");
const NODE_LOCAL_DNS = pod("kube-system", { "k8s-app": "node-local-dns" }, "node-local-dns pod");
const CLOUD_DNS = ip("169.254.169.254", "Cloud DNS");
const NODE_LOCAL_DNS_IP = ip("169.254.20.10", "NodeLocal DNSCache");
const METADATA = ip("169.254.169.254", "metadata server");
const GKE_METADATA = ip("169.254.169.252", "GKE metadata server");
const GOOGLE_APIS = [ip("199.36.153.8", "private.googleapis.com"), ip("199.36.153.11", "private.googleapis.com")];
/** A Google API on a public address: what googleapis.com resolves to without the stack's private zone. */
const PUBLIC_GOOGLE_API = ip("142.250.0.1", "Google API on a public address");
/** Where a compromised pod would send what it stole. */
const ANY_HOST = ip("93.184.216.34", "arbitrary internet host");
const LB = [ip("130.211.0.1", "GFE/health check"), ip("130.211.3.254", "GFE/health check"), ip("35.191.0.1", "GFE/health check"), ip("35.191.255.254", "GFE/health check")];
const INTERNET = ip("203.0.113.5", "internet client");

/** Every resolver path a pod's DNS query can take on GKE, with the page that says so. */
const DNS_TARGETS: readonly [Endpoint, string][] = [
    [KUBE_DNS, SRC.serviceDiscovery],
    [NODE_LOCAL_DNS, SRC.nodeLocalDns],
    [CLOUD_DNS, `${SRC.cloudDns} ; ${SRC.serviceDiscovery}`],
    [NODE_LOCAL_DNS_IP, SRC.nodeLocalDns],
];

function dnsRows(from: Endpoint): FlowExpectation[] {
    return DNS_TARGETS.flatMap(([to, source]) => [allowed(from, to, udp(53), source), allowed(from, to, tcp(53), source)]);
}

function table(s: Snapshot): FlowExpectation[] {
    const rows: FlowExpectation[] = [];
    const web = s.web.endpoint;
    const dbIp = ip(s.db.address, "Cloud SQL");
    const cacheTargets = [s.cacheMaster, ...s.cacheReplicas];

    // --- Django pods (web, migrate, collectstatic, and any other pod running the app).
    for (const d of s.django) {
        const from = d.endpoint;
        rows.push(
            ...dnsRows(from),
            allowed(from, METADATA, tcp(80), SRC.workloadIdentity),
            allowed(from, GKE_METADATA, tcp(988), SRC.workloadIdentity),
            ...GOOGLE_APIS.map((g) => allowed(from, g, tcp(443), SRC.googleApis)),
            // Closed: other ports to the internet, private ranges on 443, resolvers outside the cluster.
            ...(s.egressAllowList.includes("0.0.0.0/0") && ["web", "worker", "schedule"].includes(d.role) ? [] : [denied(from, ip("199.36.153.12"), tcp(443), SRC.egress)]),
            denied(from, ip("1.1.1.1"), tcp(80), SRC.egress),
            denied(from, ip("8.8.8.8"), tcp(25), SRC.egress),
            denied(from, ip("8.8.8.8"), udp(53), `${SRC.egress} ; components/networkPolicies.ts DNS_PEERS`),
            denied(from, ip("10.0.0.5"), tcp(443), SRC.egress),
            denied(from, ip("172.16.0.5"), tcp(443), SRC.egress),
            denied(from, ip("192.168.1.10"), tcp(443), SRC.egress),
        );
        if (d !== s.web) {
            rows.push(denied(from, web, tcp(s.webPort), SRC.webIngress));
        }
    }
    // The internet on 443: closed, unless network.egressAllowList opens ranges for the app's own pods
    // (web, workers, CronJobs); never for the release Jobs.
    const allowTargets = s.egressAllowList.map((cidr) => ip(cidr === "0.0.0.0/0" ? "8.8.8.8" : cidr.replace(/\.0\/\d+$/, ".7"), `allowed host in ${cidr}`));
    for (const d of s.django) {
        const app = ["web", "worker", "schedule"].includes(d.role);
        const open = app && s.egressAllowList.includes("0.0.0.0/0");
        rows.push(open ? allowed(d.endpoint, ANY_HOST, tcp(443), SRC.internet) : denied(d.endpoint, ANY_HOST, tcp(443), SRC.internet));
        rows.push(open ? allowed(d.endpoint, PUBLIC_GOOGLE_API, tcp(443), SRC.internet) : denied(d.endpoint, PUBLIC_GOOGLE_API, tcp(443), SRC.egress));
        for (const t of allowTargets) {
            rows.push(app ? allowed(d.endpoint, t, tcp(443), SRC.internet) : denied(d.endpoint, t, tcp(443), SRC.internet));
            rows.push(denied(d.endpoint, t, tcp(80), SRC.internet));
        }
    }
    for (const d of s.dbClients) {
        rows.push(allowed(d.endpoint, dbIp, tcp(s.db.port), s.db.port === 3307 ? SRC.cloudSqlProxy : SRC.cloudSqlPrivateIp));
    }
    for (const d of s.django.filter((p) => p.role === "collectstatic")) {
        rows.push(denied(d.endpoint, dbIp, tcp(s.db.port), SRC.database), denied(d.endpoint, dbIp, tcp(5432), SRC.database));
    }
    // Redis: the cache clients (web pods, workers) reach it; Jobs and CronJob pods do not.
    for (const d of s.django) {
        const client = d.endpoint.labels["django-platform/cache-client"] === "true";
        for (const t of cacheTargets) {
            rows.push(client ? allowed(d.endpoint, t.endpoint, tcp(t.port), d === s.web ? SRC.cache : SRC.cacheClients) : denied(d.endpoint, t.endpoint, tcp(t.port), SRC.cacheClients));
        }
    }
    // Workers and CronJob pods have no ingress at all: not from the load balancer, not from the web pods.
    for (const d of s.django.filter((p) => ["worker", "schedule"].includes(p.role))) {
        rows.push(
            denied(LB[0], d.endpoint, tcp(s.webPort), SRC.noIngress),
            denied(s.web.endpoint, d.endpoint, tcp(s.webPort), SRC.noIngress),
            denied(s.web.endpoint, d.endpoint, tcp(9090), SRC.noIngress),
        );
    }

    // --- The load balancer reaches the web port; nobody else does.
    for (const lb of LB) {
        rows.push(allowed(lb, web, tcp(s.webPort), SRC.lbRanges));
    }
    rows.push(
        denied(INTERNET, web, tcp(s.webPort), SRC.webIngress),
        denied(pod("default", web.labels, "web-labelled pod in namespace default"), web, tcp(s.webPort), `${SRC.webIngress} ; ${SRC.netpol}`),
    );

    // --- In-cluster Redis.
    const redisPort = s.cacheMaster.port;
    for (const m of s.redisMaster) {
        const from = m.endpoint;
        rows.push(
            denied(from, GOOGLE_APIS[0], tcp(443), SRC.cacheClosed),
            denied(from, ip("1.1.1.1"), tcp(80), SRC.cacheClosed),
            denied(from, METADATA, tcp(80), SRC.cacheClosed),
            denied(from, dbIp, tcp(s.db.port), SRC.cacheClosed),
            denied(from, web, tcp(s.webPort), SRC.cacheClosed),
            ...s.redisReplicas.map((rep) => denied(from, rep.endpoint, tcp(redisPort), SRC.cacheClosed)),
            denied(pod("default", web.labels, "web-labelled pod in namespace default"), from, tcp(redisPort), `${SRC.cacheClosed} ; ${SRC.netpol} (a podSelector peer alone selects pods of the policy's namespace)`),
            denied(INTERNET, from, tcp(redisPort), SRC.cacheClosed),
            denied(LB[0], from, tcp(redisPort), SRC.cacheClosed),
        );
    }
    for (const rep of s.redisReplicas) {
        const from = rep.endpoint;
        assert.ok(s.replicaOf, "a replica follows a master");
        rows.push(
            ...dnsRows(from),
            allowed(from, s.replicaOf.endpoint, tcp(s.replicaOf.port), SRC.cache),
            denied(from, web, tcp(s.webPort), SRC.cacheClosed),
            denied(from, GOOGLE_APIS[0], tcp(443), SRC.cacheClosed),
            denied(from, METADATA, tcp(80), SRC.cacheClosed),
            denied(from, dbIp, tcp(s.db.port), SRC.cacheClosed),
            denied(pod("default", web.labels, "web-labelled pod in namespace default"), from, tcp(redisPort), `${SRC.cacheClosed} ; ${SRC.netpol}`),
            denied(INTERNET, from, tcp(redisPort), SRC.cacheClosed),
        );
    }
    return rows;
}

// ---------------------------------------------------------------------------------------------

const snapshots: Snapshot[] = [];
before(async () => {
    for (const v of VARIANTS) {
        snapshots.push(snapshot(v, await renderStack(v.stack, v.overrides)));
    }
});

const byTitle = (title: string) => snapshots.find((s) => s.variant.title === title)!;
const report = (failures: ReturnType<typeof checkFlows>) => failures.map((f) => `  - ${f.message}`).join("\n");

describe("connectivity of the rendered NetworkPolicies", () => {
    for (const v of VARIANTS) {
        describe(v.title, () => {
            it("every pod is a Django pod or a Redis pod, and the roles are the expected ones", () => {
                const s = byTitle(v.title);
                const redis = new Set([...s.redisMaster, ...s.redisReplicas]);
                const unknown = s.pods.filter((p) => p.running && !s.django.includes(p) && !redis.has(p));
                assert.deepEqual(unknown.map((p) => p.resource), [], "a pod role with no rows in the connectivity table");
                const roles = ["web", "migrate", "collectstatic", "schedule", ...(v.stack === "production" || v.title.includes("worker") ? ["worker"] : [])];
                for (const role of roles) {
                    assert.ok(s.django.some((p) => p.role === role), `no ${role} pod`);
                }
                assert.deepEqual([...new Set(s.django.map((p) => p.role))].sort(), [...roles].sort(), "Django pod roles");
                const inCluster = s.rendered.all(T.statefulSet).length > 0;
                assert.equal(s.redisMaster.length, inCluster ? 1 : 0);
                assert.equal(s.cacheReplicas.length, inCluster ? s.redisReplicas.length : s.rendered.inputs(T.redis).replicaCount > 0 ? 1 : 0);
                assert.ok(ipInCidr(s.db.address, s.db.privateServicesCidr), `Cloud SQL ${s.db.address} outside ${s.db.privateServicesCidr}`);
            });

            it("the flow table holds: required flows allowed, everything else closed", () => {
                const s = byTitle(v.title);
                const rows = table(s);
                const failures = checkFlows(s.cluster, rows);
                assert.equal(failures.length, 0, `${failures.length} of ${rows.length} flows differ:\n${report(failures)}`);
            });

            it("every rule of every policy applied to a running pod is needed by some required flow", () => {
                // A rule no required flow uses is either dead or an opening nobody asked for. Policies
                // that select no running pod (the replica egress with cache.replicas 0) are skipped.
                const s = byTitle(v.title);
                const live = s.policies.filter((p) => s.pods.some((pod) => pod.running && pod.endpoint.namespace === p.namespace && policiesSelecting(s.cluster, pod.endpoint, "Ingress").concat(policiesSelecting(s.cluster, pod.endpoint, "Egress")).includes(p)));
                const used = new Set(table(s).filter((r) => r.expect === "allowed").flatMap((r) => {
                    const verdict = evaluate(s.cluster, r);
                    return [...verdict.egress.allowedBy, ...verdict.ingress.allowedBy];
                }));
                assert.ok(live.length >= 4, `${live.length} live policies`);
                const rules = live.flatMap((p) => [
                    ...(p.spec.ingress ?? []).map((_, i) => ruleId(p, "ingress", i)),
                    ...(p.spec.egress ?? []).map((_, i) => ruleId(p, "egress", i)),
                ]);
                assert.deepEqual(rules.filter((id) => !used.has(id)), []);
            });
        });
    }

    it("the variants differ where they should (so the table really runs on each mode)", () => {
        assert.equal(byTitle("staging").db.port, 3307);
        assert.equal(byTitle("staging, database.connector private-ip").db.port, 5432);
        assert.deepEqual(byTitle("staging, database.connector private-ip").dbClients.map((p) => p.role).sort(), ["migrate", "schedule", "web"]);
        assert.deepEqual(byTitle("staging").dbClients.map((p) => p.role).sort(), ["migrate", "schedule", "web"]);
        assert.deepEqual(byTitle("production").dbClients.map((p) => p.role).sort(), ["migrate", "schedule", "web", "worker"]);
        assert.deepEqual(byTitle("staging, a worker, database.connector private-ip").dbClients.map((p) => p.role).sort(), ["migrate", "schedule", "web", "worker"]);
        // The internet: closed by default, one policy more with an allow list.
        const allowing = byTitle("production, network.egressAllowList one range");
        assert.ok(allowing.policies.some((p) => p.name === "django-workload-django-internet-egress"));
        assert.ok(!byTitle("production").policies.some((p) => p.name === "django-workload-django-internet-egress"));
        const tls = byTitle("staging, cache.mode memorystore (5 GB, 1 replica)");
        const plain = byTitle("staging, cache.mode memorystore without TLS");
        assert.equal(tls.cacheMaster.endpoint.kind, "ip");
        assert.deepEqual([tls.cacheMaster.port, ...tls.cacheReplicas.map((t) => t.port)], [6378, 6378], "Memorystore with TLS listens on 6378");
        assert.deepEqual([plain.cacheMaster.port, ...plain.cacheReplicas.map((t) => t.port)], [6379, 6379]);
        assert.equal(byTitle("staging").cacheMaster.port, 6379);
        assert.equal(byTitle("staging, cache.replicas 0").redisReplicas.length, 0);
        const stagingReplicas = byTitle("staging").rendered.inputs(T.statefulSet, "django-cache-replica").spec.replicas;
        assert.equal(byTitle("staging").redisReplicas.length, stagingReplicas > 0 ? 1 : 0);
        assert.equal(byTitle("production").redisReplicas.length, 1, "one replica template (2 replicas)");
        for (const s of snapshots) {
            assert.ok(table(s).length >= 60, `${s.variant.title}: ${table(s).length} rows`);
        }
    });
});

describe("the model catches the DNS regression (kube-dns-only DNS rule)", () => {
    const OLD_DNS_PEERS = [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }];
    const isDnsRule = (rule: { ports?: readonly { port?: number | string }[] }) => (rule.ports ?? []).length > 0 && rule.ports!.every((p) => p.port === 53);

    /** The rendered policies with every DNS egress rule rewritten to the peer list before the fix. */
    function regress(policies: NetworkPolicy[]): { policies: NetworkPolicy[]; rewritten: number } {
        let rewritten = 0;
        const out = policies.map((p) => ({
            ...p,
            spec: {
                ...p.spec,
                egress: p.spec.egress?.map((rule) => {
                    if (!isDnsRule(rule)) return rule;
                    rewritten++;
                    return { ...rule, to: OLD_DNS_PEERS };
                }),
            },
        }));
        return { policies: out, rewritten };
    }

    for (const title of ["staging", "staging, cache.mode memorystore (5 GB, 1 replica)"]) {
        it(`${title}: DNS to 169.254.169.254 and 169.254.20.10 is denied, and the table says so`, () => {
            const s = byTitle(title);
            const { policies, rewritten } = regress(s.policies);
            assert.equal(rewritten, s.rendered.all(T.statefulSet).length > 0 ? 2 : 1, "allow-dns (and the in-cluster Redis replica egress) rewritten");
            const old: ClusterModel = { ...s.cluster, policies };
            for (const from of [s.web.endpoint, ...s.redisReplicas.map((r) => r.endpoint)]) {
                for (const p of [udp(53), tcp(53)]) {
                    assert.equal(evaluate(old, { from, to: CLOUD_DNS, ...p }).allowed, false);
                    assert.equal(evaluate(old, { from, to: NODE_LOCAL_DNS_IP, ...p }).allowed, false);
                    assert.equal(evaluate(old, { from, to: KUBE_DNS, ...p }).allowed, true, "kube-dns stays reachable");
                    // The same flows with the current policies:
                    assert.equal(evaluate(s.cluster, { from, to: CLOUD_DNS, ...p }).allowed, true);
                    assert.equal(evaluate(s.cluster, { from, to: NODE_LOCAL_DNS_IP, ...p }).allowed, true);
                }
            }
            // The table reports exactly the DNS rows to the resolvers the old rule missed.
            const rows = table(s);
            const failing = checkFlows(old, rows).map((f) => f.row);
            const expected = rows.filter((r) => r.expect === "allowed" && r.port === 53 && r.to !== KUBE_DNS);
            // 3 resolver paths the old rule misses × UDP/TCP × every pod that resolves names.
            assert.equal(expected.length, 3 * 2 * (s.django.length + s.redisReplicas.length));
            assert.deepEqual(failing.map((r) => r.name).sort(), expected.map((r) => r.name).sort());
        });
    }
});

describe("the model catches a cache port mismatch", () => {
    it("memorystore with TLS: an egress rule still on 6379 denies every web → cache row", () => {
        const s = byTitle("staging, cache.mode memorystore (5 GB, 1 replica)");
        const port = s.cacheMaster.port;
        const policies = s.policies.map((p) => ({
            ...p,
            spec: { ...p.spec, egress: p.spec.egress?.map((rule) => ({ ...rule, ports: rule.ports?.map((x) => (x.port === port ? { ...x, port: 6379 } : x)) })) },
        }));
        const rows = table(s);
        const failing = checkFlows({ ...s.cluster, policies }, rows).map((f) => f.row.name);
        assert.deepEqual(failing, rows.filter((r) => r.expect === "allowed" && (r.to === s.cacheMaster.endpoint || s.cacheReplicas.some((t) => t.endpoint === r.to))).map((r) => r.name));
        assert.equal(failing.length, 2, "master and read endpoint");
    });
});

describe("the NetworkPolicy model itself", () => {
    const NS = "app";
    const a = pod(NS, { app: "a", tier: "front" }, "a");
    const b = pod(NS, { app: "b" }, "b");
    const other = pod("other", { app: "a", tier: "front" }, "a in other");
    const policy = (spec: NetworkPolicySpec, namespace = NS, name = "p"): NetworkPolicy => ({ name, namespace, spec });
    const cluster = (...policies: NetworkPolicy[]): ClusterModel => ({ policies, namespaceLabels: { other: { team: "x" } } });
    const ok = (c: ClusterModel, from: Endpoint, to: Endpoint, p: PortSpec = tcp(80)) => evaluate(c, { from, to, ...p }).allowed;

    it("no policy: everything allowed; default deny closes both directions of selected pods only", () => {
        assert.equal(ok(cluster(), a, b), true);
        const deny = cluster(policy({ podSelector: {}, policyTypes: ["Ingress", "Egress"] }));
        assert.equal(ok(deny, a, b), false);
        assert.equal(ok(deny, a, ip("8.8.8.8")), false, "egress isolated");
        assert.equal(ok(deny, ip("8.8.8.8"), a), false, "ingress isolated");
        assert.equal(ok(deny, other, pod("other", {}, "x")), true, "a policy never selects pods of another namespace");
        assert.equal(ok(deny, other, a), false, "…but the destination's ingress is still enforced");
        assert.equal(ok(deny, ip("1.2.3.4"), ip("5.6.7.8")), true, "ip → ip is never isolated");
    });

    it("policyTypes default: Ingress always, Egress only with egress rules", () => {
        const ingressOnly = cluster(policy({ podSelector: { matchLabels: { app: "a" } }, ingress: [] }));
        assert.equal(ok(ingressOnly, b, a), false);
        assert.equal(ok(ingressOnly, a, ip("8.8.8.8")), true, "no egress rules: egress not isolated");
        const egressRules = cluster(policy({ podSelector: { matchLabels: { app: "a" } }, egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }] }));
        assert.equal(ok(egressRules, a, ip("10.1.1.1")), true);
        assert.equal(ok(egressRules, a, ip("8.8.8.8")), false, "egress rules present: egress isolated");
        assert.equal(ok(egressRules, b, a), false, "…and ingress isolated too (the classic surprise)");
        const explicit = cluster(policy({ podSelector: { matchLabels: { app: "a" } }, policyTypes: ["Egress"], egress: [] }));
        assert.equal(ok(explicit, b, a), true, "explicit policyTypes Egress leaves ingress open");
    });

    it("ipBlock with except; ipBlocks never match pods", () => {
        const c = cluster(policy({ podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "192.168.0.0/16"] } }] }] }));
        assert.equal(ok(c, a, ip("8.8.8.8")), true);
        assert.equal(ok(c, a, ip("10.20.30.40")), false);
        assert.equal(ok(c, a, ip("192.168.255.255")), false);
        assert.equal(ok(c, a, ip("11.0.0.0")), true, "just outside the except range");
        assert.equal(ok(c, a, b), false, "a pod is matched by selectors only, even by 0.0.0.0/0");
        const narrow = cluster(policy({ podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "169.254.169.254/32" } }] }] }));
        assert.equal(ok(narrow, a, ip("169.254.169.254")), true);
        assert.equal(ok(narrow, a, ip("169.254.169.253")), false);
    });

    it("namespaceSelector and podSelector in one peer are ANDed; in two peers ORed; podSelector alone is the policy's namespace", () => {
        const target = policy({ podSelector: { matchLabels: { app: "b" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "x" } }, podSelector: { matchLabels: { tier: "back" } } }] }] });
        const and = cluster(target);
        assert.equal(ok(and, other, b), false, "namespace matches, pod does not");
        assert.equal(ok(and, pod("other", { tier: "back" }, "back in other"), b), true);
        assert.equal(ok(and, pod(NS, { tier: "back" }, "back in app"), b), false, "pod matches, namespace does not");
        const or = cluster(policy({ ...target.spec, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "x" } } }, { podSelector: { matchLabels: { tier: "back" } } }] }] }));
        assert.equal(ok(or, other, b), true);
        assert.equal(ok(or, pod(NS, { tier: "back" }, "back in app"), b), true);
        assert.equal(ok(or, a, b), false);
        const podOnly = cluster(policy({ ...target.spec, ingress: [{ from: [{ podSelector: { matchLabels: { app: "a" } } }] }] }));
        assert.equal(ok(podOnly, a, b), true);
        assert.equal(ok(podOnly, other, b), false, "same labels, other namespace");
        const byName = cluster(policy({ ...target.spec, ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "other" } } }] }] }));
        assert.equal(ok(byName, other, b), true, "every namespace carries kubernetes.io/metadata.name");
    });

    it("ports: number, endPort range, protocol default TCP, named port, absent ports = all", () => {
        const to = (ports: NetworkPolicySpec["egress"]) => cluster(policy({ podSelector: {}, policyTypes: ["Egress"], egress: ports }));
        const range = to([{ ports: [{ port: 32000, endPort: 32768 }] }]);
        assert.equal(ok(range, a, ip("1.1.1.1"), tcp(32768)), true);
        assert.equal(ok(range, a, ip("1.1.1.1"), tcp(32000)), true);
        assert.equal(ok(range, a, ip("1.1.1.1"), tcp(32769)), false);
        assert.equal(ok(range, a, ip("1.1.1.1"), tcp(31999)), false);
        assert.equal(ok(range, a, ip("1.1.1.1"), udp(32100)), false, "protocol defaults to TCP");
        const single = to([{ ports: [{ protocol: "UDP", port: 53 }] }]);
        assert.equal(ok(single, a, ip("1.1.1.1"), udp(53)), true);
        assert.equal(ok(single, a, ip("1.1.1.1"), tcp(53)), false);
        const all = to([{ to: [{ ipBlock: { cidr: "1.1.1.0/24" } }] }]);
        assert.equal(ok(all, a, ip("1.1.1.1"), udp(9999)), true);
        assert.equal(ok(all, a, ip("1.1.2.1"), udp(9999)), false);
        const named = to([{ ports: [{ port: "redis" }] }]);
        const redis: PodEndpoint = { ...b, ports: [{ name: "redis", containerPort: 6379 }] };
        assert.equal(ok(named, a, redis, tcp(6379)), true);
        assert.equal(ok(named, a, redis, tcp(6380)), false);
        assert.equal(ok(named, a, ip("1.1.1.1"), tcp(6379)), false, "an ip endpoint has no named ports");
    });

    it("matchExpressions: In, NotIn (absent key matches), Exists, DoesNotExist; policies are additive", () => {
        const sel = (op: string, values?: string[]) => cluster(policy({ podSelector: { matchExpressions: [{ key: "tier", operator: op, values }] }, policyTypes: ["Ingress"] }));
        assert.equal(ok(sel("In", ["front"]), b, a), false, "a selected");
        assert.equal(ok(sel("In", ["front"]), a, b), true, "b not selected");
        assert.equal(ok(sel("NotIn", ["front"]), a, b), false, "b has no tier: NotIn selects it");
        assert.equal(ok(sel("NotIn", ["front"]), b, a), true);
        assert.equal(ok(sel("Exists"), b, a), false);
        assert.equal(ok(sel("DoesNotExist"), a, b), false);
        assert.equal(ok(sel("DoesNotExist"), b, a), true);
        const additive = cluster(
            policy({ podSelector: {}, policyTypes: ["Egress"] }, NS, "deny"),
            policy({ podSelector: { matchLabels: { app: "a" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "1.1.1.1/32" } }] }] }, NS, "one"),
        );
        const v = evaluate(additive, { from: a, to: ip("1.1.1.1"), port: 1 });
        assert.deepEqual([v.allowed, v.egress.allowedBy], [true, ["app/one.egress[0]"]]);
        assert.equal(ok(additive, b, ip("1.1.1.1")), false);
    });
});
