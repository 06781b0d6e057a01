/**
 * The stack's Redis on this machine, and where the app's cache URLs point here.
 *
 * In-cluster Redis (`cache.mode: in-cluster`): every StatefulSet whose container runs
 * `redis-server` starts `spec.replicas` servers with exactly its rendered arguments, `$(VAR)`
 * expanded as the kubelet does (the password Secret replaced by the run's cache password), and only
 * `--port`, `--dir` (its emptyDir, a directory of the run), `--bind` (loopback) and the host and
 * port of `--replicaof` (a Service's DNS name → the local port of the first pod that Service
 * selects) changed. The masters start first, so replicas sync from them.
 *
 * Memorystore (`cache.mode: memorystore`): the URLs name the instance's endpoints (private IPs).
 * The first (primary) becomes one redis-server; a second (the read endpoint) a replica of it. With
 * `rediss://` both speak TLS only (`--port 0 --tls-port`), with a server certificate of a local CA
 * standing in for the instance's own server CA: DJANGO_APP_CACHE_CA_CERT is that CA here, as the
 * rendered one is the instance's (https://cloud.google.com/memorystore/docs/redis/about-in-transit-encryption).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { argv, containerEnv, expandKubernetesVars, podSpec, type K8sDoc } from "../renderedWorkloads";
import type { LocalCa } from "./certificates";
import { freePort } from "./processes";
import { LocalRedis } from "./redis";

/** One local Redis server and what it stands for. */
export interface CacheServer {
    readonly redis: LocalRedis;
    /** E.g. `StatefulSet/django-cache-master-… pod 0` or `Memorystore primary 10.99.1.3:6378`. */
    readonly standsFor: string;
    readonly tls: boolean;
}

/** The started servers and the app's cache URLs mapped onto them. */
export interface CacheTopology {
    readonly servers: readonly CacheServer[];
    /** DJANGO_APP_CACHE_LOCATION with each URL's host and port replaced. */
    readonly locations: string;
    /** The local stand-in of DJANGO_APP_CACHE_CA_CERT (TLS only). */
    readonly caPem?: string;
    /** Stops every server. */
    stop(): Promise<void>;
}

const COMPONENT = "app.kubernetes.io/component";

/** The Service named by a cluster DNS name (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`). */
export function serviceByHost(docs: readonly K8sDoc[], host: string, namespace: string | undefined): K8sDoc | undefined {
    const m = /^([a-z0-9-]+)(?:\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?)?\.?$/.exec(host);
    if (!m || /^\d+$/.test(m[1] as string)) return undefined;
    const ns = m[2] ?? namespace;
    return docs.find((d) => d.kind === "Service" && d.metadata.name === m[1] && (d.metadata.namespace ?? namespace) === ns);
}

/** The StatefulSets and Deployments whose pods a Service selects. */
function selectedWorkloads(docs: readonly K8sDoc[], service: K8sDoc): K8sDoc[] {
    const selector = (service.spec?.selector ?? {}) as Record<string, string>;
    if (Object.keys(selector).length === 0) return [];
    return docs.filter((d) => (d.kind === "StatefulSet" || d.kind === "Deployment") && (d.metadata.namespace ?? "") === (service.metadata.namespace ?? "") && Object.entries(selector).every(([k, v]) => d.spec?.template?.metadata?.labels?.[k] === v));
}

function flag(args: string[], name: string, value: string): void {
    const at = args.indexOf(name);
    if (at === -1) args.push(name, value);
    else args[at + 1] = value;
}

/** Options of {@link startCache}. */
export interface CacheOptions {
    readonly docs: readonly K8sDoc[];
    /** The rendered DJANGO_APP_CACHE_LOCATION (empty: no Redis). */
    readonly locations: string;
    readonly password: string;
    /** A directory of the run for the servers' `--dir`. */
    readonly dir: string;
    /** Makes the TLS stand-in of a Memorystore instance's CA (asked for only when needed). */
    readonly tlsCa: () => Promise<LocalCa>;
    readonly onOutput?: (label: string, text: string) => void;
}

/** Starts the stack's Redis servers and maps the cache URLs onto them. Stops what started when one fails. */
export async function startCache(options: CacheOptions): Promise<CacheTopology> {
    const started: CacheServer[] = [];
    const stop = async () => {
        await Promise.all(started.map((s) => s.redis.stop()));
    };
    try {
        const result = await startServers(options, started);
        return { ...result, servers: started, stop };
    } catch (error) {
        await stop();
        throw error;
    }
}

async function startServers(options: CacheOptions, started: CacheServer[]): Promise<{ locations: string; caPem?: string }> {
    const { docs } = options;
    const urls = options.locations.split(/\s+/).filter(Boolean).map((u) => new URL(u));
    if (urls.length === 0) return { locations: options.locations };
    const redisSets = docs.filter((d) => d.kind === "StatefulSet" && d.spec?.template?.spec.containers.some((c) => argv(c).includes("redis-server")));
    const namespace = redisSets[0]?.metadata.namespace ?? docs.find((d) => d.kind === "ConfigMap")?.metadata.namespace;
    const inCluster = urls.every((u) => serviceByHost(docs, u.hostname, namespace) !== undefined);
    const onOutput = (label: string) => (options.onOutput ? (text: string) => options.onOutput?.(label, text) : undefined);
    if (inCluster) {
        /** Local ports of each StatefulSet's pods. */
        const podPorts = new Map<K8sDoc, number[]>();
        const portOfService = (host: string): number => {
            const service = serviceByHost(docs, host, namespace);
            const target = service ? selectedWorkloads(docs, service).find((w) => podPorts.has(w)) : undefined;
            const port = target ? podPorts.get(target)?.[0] : undefined;
            if (port === undefined) throw new Error(`${host}: no running Redis pod behind this Service`);
            return port;
        };
        const replicaOf = (set: K8sDoc) => argv(podSpec(set).containers[0] as never).includes("--replicaof");
        const ordered = [...redisSets.filter((s) => !replicaOf(s)), ...redisSets.filter(replicaOf)];
        for (const set of ordered) {
            const [container] = podSpec(set).containers;
            if (!container) continue;
            const vars = new Map([...containerEnv(docs, container)].map(([name, source]) => [name, source.kind === "secret" ? options.password : source.value]));
            const [program, ...rendered] = argv(container).map((a) => expandKubernetesVars(a, vars));
            if (program !== "redis-server") throw new Error(`StatefulSet ${set.metadata.name} runs ${program}, expected redis-server`);
            const ports: number[] = [];
            podPorts.set(set, ports);
            const replicas = (set.spec as { replicas?: number }).replicas ?? 1;
            for (let i = 0; i < replicas; i += 1) {
                const port = await freePort();
                const dir = join(options.dir, `${set.metadata.name}-${i}`);
                mkdirSync(dir, { recursive: true });
                const args = [...rendered];
                flag(args, "--port", String(port));
                flag(args, "--dir", dir);
                flag(args, "--bind", "127.0.0.1");
                const at = args.indexOf("--replicaof");
                if (at !== -1) {
                    const masterPort = portOfService(args[at + 1] as string);
                    args[at + 1] = "127.0.0.1";
                    args[at + 2] = String(masterPort);
                }
                const label = `redis ${set.metadata.labels?.[COMPONENT] ?? set.metadata.name}-${i}`;
                const redis = new LocalRedis(label, args, port, options.password, { onOutput: onOutput(label) });
                started.push({ redis, standsFor: `StatefulSet/${set.metadata.name} pod ${i}`, tls: false });
                await redis.start();
                ports.push(port);
            }
        }
        const locations = urls.map((u) => {
            const local = new URL(u.toString());
            local.hostname = "127.0.0.1";
            local.port = String(portOfService(u.hostname));
            return local.toString();
        });
        return { locations: locations.join(" ") };
    }
    // Memorystore: the primary endpoint, then the read endpoint (a replica of it).
    const tls = urls[0]?.protocol === "rediss:";
    const ca = tls ? await options.tlsCa() : undefined;
    const certificate = ca ? await ca.issue(["127.0.0.1"]) : undefined;
    const endpoints = [...new Set(urls.map((u) => u.host))];
    const ports = new Map<string, number>();
    for (const [i, endpoint] of endpoints.entries()) {
        const port = await freePort();
        const dir = join(options.dir, `memorystore-${i}`);
        mkdirSync(dir, { recursive: true });
        const args = ["--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"];
        if (options.password) args.push("--requirepass", options.password, "--masterauth", options.password);
        if (certificate && ca) {
            args.push("--port", "0", "--tls-port", String(port), "--tls-cert-file", certificate.certFile, "--tls-key-file", certificate.keyFile, "--tls-ca-cert-file", ca.certFile, "--tls-auth-clients", "no", "--tls-replication", "yes");
        } else {
            args.push("--port", String(port));
        }
        const primaryPort = ports.get(endpoints[0] as string);
        if (i > 0 && primaryPort !== undefined) args.push("--replicaof", "127.0.0.1", String(primaryPort), "--replica-read-only", "yes");
        const label = i === 0 ? "memorystore primary" : "memorystore read endpoint";
        const redis = new LocalRedis(label, args, port, options.password, { tlsCaFile: ca?.certFile, onOutput: onOutput(label) });
        started.push({ redis, standsFor: `Memorystore ${i === 0 ? "primary" : "read"} endpoint ${endpoint}`, tls });
        await redis.start();
        ports.set(endpoint, port);
    }
    const locations = urls.map((u) => {
        const local = new URL(u.toString());
        local.hostname = "127.0.0.1";
        local.port = String(ports.get(u.host));
        return local.toString();
    });
    return { locations: locations.join(" "), caPem: ca?.pem };
}
