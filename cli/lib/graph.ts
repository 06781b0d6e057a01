/**
 * The resource graph of a stack: what waits for what, as the Pulumi engine orders creation, and a
 * drawing of it (DOT, rendered to SVG with Graphviz compiled to WebAssembly).
 *
 * No DOT-building library is installed (`ts-graphviz` is not a dependency), so the DOT text is
 * generated here; every label goes through {@link dotString} and node ids are synthetic (`n12`),
 * so resource names cannot break the syntax.
 */
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

/** The fields of a resource that ordering and drawing need (captured or exported resources both fit). */
export interface GraphResource {
    readonly urn: string;
    readonly type: string;
    readonly custom: boolean;
    readonly parent?: string;
    /** Provider reference `urn::id`. */
    readonly provider?: string;
    readonly dependencies: readonly string[];
    /** Input values, where known (a stack export has them); the component picture reads a few. */
    readonly inputs?: Readonly<Record<string, unknown>>;
}

/** The logical name of a URN (its last `::` segment). */
export function nameOfUrn(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The provider URN of a provider reference `urn::id`. */
export function providerUrn(ref: string): string {
    return ref.slice(0, ref.lastIndexOf("::"));
}

/** What must exist before a resource can be created, by kind of edge. */
export interface Predecessors {
    /** Dependencies (`dependsOn` and inputs), components expanded to their custom descendants. */
    readonly dependencies: string[];
    /** The explicit provider: its configuration (e.g. a kubeconfig) comes from other resources. */
    readonly provider?: string;
    /** A custom parent: the SDK registers a child only once the parent's URN is known, i.e. created. */
    readonly parent?: string;
}

/** Indexes resources by URN and components by their children. */
export class ResourceGraph {
    readonly byUrn = new Map<string, GraphResource>();
    readonly children = new Map<string, GraphResource[]>();

    constructor(readonly resources: readonly GraphResource[]) {
        for (const r of resources) {
            this.byUrn.set(r.urn, r);
        }
        for (const r of resources) {
            if (r.parent && this.byUrn.has(r.parent)) {
                const list = this.children.get(r.parent) ?? [];
                list.push(r);
                this.children.set(r.parent, list);
            }
        }
    }

    /** Custom resources under a component, at any depth (the SDK's expansion of `dependsOn: component`). */
    customDescendants(urn: string): string[] {
        const out: string[] = [];
        for (const child of this.children.get(urn) ?? []) {
            if (child.custom) {
                out.push(child.urn);
            }
            out.push(...this.customDescendants(child.urn));
        }
        return out;
    }

    /**
     * What a resource waits for. Components take no time: depending on one means depending on its
     * custom descendants, and a component parent does not hold its children back (the Node SDK
     * does not pass a component's `dependsOn` on to its children).
     */
    predecessors(r: GraphResource): Predecessors {
        const deps = new Set<string>();
        for (const d of r.dependencies) {
            const dep = this.byUrn.get(d);
            if (!dep) {
                continue;
            }
            for (const u of dep.custom ? [d] : this.customDescendants(d)) {
                if (u !== r.urn) {
                    deps.add(u);
                }
            }
        }
        const provider = r.provider ? providerUrn(r.provider) : undefined;
        const parent = r.parent ? this.byUrn.get(r.parent) : undefined;
        return {
            dependencies: [...deps],
            provider: provider && this.byUrn.has(provider) ? provider : undefined,
            parent: parent?.custom ? parent.urn : undefined,
        };
    }
}

/** A DOT double-quoted string: backslashes, quotes and newlines escaped. */
export function dotString(text: string): string {
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`;
}

const PALETTE: Record<string, string> = { gcp: "#e8f0fe", kubernetes: "#e6f4ea", random: "#fef7e0", pulumi: "#f1f3f4" };

function fill(type: string): string {
    const pkg = type.startsWith("pulumi:providers:") ? "pulumi" : type.split(":")[0];
    return PALETTE[pkg] ?? "#ffffff";
}

/** The last segment of a type (`gcp:sql/databaseInstance:DatabaseInstance` → `DatabaseInstance`); `kubernetes provider` for providers. */
export function shortType(type: string): string {
    return type.startsWith("pulumi:providers:") ? `${type.slice("pulumi:providers:".length)} provider` : type.slice(type.lastIndexOf(":") + 1);
}

/**
 * A resource's logical name without its parent's name as prefix (`django-database-instance` under
 * `django-database` → `instance`): the cluster around it already says whose it is.
 */
export function shortName(r: GraphResource, parent: GraphResource | undefined): string {
    const name = nameOfUrn(r.urn);
    const prefix = parent ? `${nameOfUrn(parent.urn)}-` : "";
    return prefix && name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : name;
}

/**
 * The smallest width (inches) a box needs for `label` at `fontSize` points, whatever sans-serif font
 * the viewer substitutes for Helvetica. Graphviz sizes boxes with Helvetica's metrics, but browsers
 * and librsvg without Helvetica draw the text in wider fonts (DejaVu Sans is about 12 % wider), and
 * the text then runs over the box; 0.62 em per character fits them all. Passed as `width` with
 * `fixedsize=false`, it only ever widens a box.
 */
export function labelWidth(label: string, fontSize: number): number {
    const chars = Math.max(...label.split("\n").map((line) => line.length));
    return Math.ceil(((chars * fontSize * 0.62) / 72 + 0.22) * 100) / 100;
}

/**
 * The graph in DOT: components as nested clusters; solid edges for dependencies, dotted for
 * explicit providers, dashed for custom parents. Edges point from what is created first.
 * Resources for which `hide` is true (e.g. the stack root, default providers) are left out,
 * with their edges. A box shows the resource's name without its component's prefix and the last
 * segment of its type; the full name and type are its tooltip.
 */
export function toDot(resources: readonly GraphResource[], title: string, hide: (r: GraphResource) => boolean = () => false): string {
    const shown = resources.filter((r) => !hide(r));
    const graph = new ResourceGraph(shown);
    const ids = new Map<string, string>();
    shown.forEach((r, i) => ids.set(r.urn, `n${i}`));
    const lines = [`digraph ${dotString(title)} {`, "  rankdir=LR;", "  compound=true;", `  label=${dotString(title)};`, "  labelloc=t;", '  fontname="Helvetica";', "  fontsize=16;", '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, fixedsize=false];', '  edge [color="#5f6368"];'];

    const emit = (r: GraphResource, indent: string): void => {
        const id = ids.get(r.urn) as string;
        const full = `${nameOfUrn(r.urn)}\n${r.type}`;
        if (r.custom) {
            const label = `${shortName(r, r.parent ? graph.byUrn.get(r.parent) : undefined)}\n${shortType(r.type)}`;
            lines.push(`${indent}${id} [label=${dotString(label)}, width=${labelWidth(label, 10)}, tooltip=${dotString(full)}, fillcolor=${dotString(fill(r.type))}];`);
            return;
        }
        lines.push(`${indent}subgraph cluster_${id} {`);
        lines.push(`${indent}  label=${dotString(full)}; style="rounded,dashed"; fontname="Helvetica"; fontsize=11;`);
        // An invisible anchor, so edges can start at the cluster itself.
        lines.push(`${indent}  ${id} [shape=point, style=invis, width=0, label=""];`);
        for (const child of graph.children.get(r.urn) ?? []) {
            emit(child, `${indent}  `);
        }
        lines.push(`${indent}}`);
    };
    for (const r of shown) {
        if (!r.parent || !graph.byUrn.has(r.parent)) {
            emit(r, "  ");
        } else if (graph.byUrn.get(r.parent)?.custom) {
            emit(r, "  ");
        }
    }
    for (const r of shown) {
        const to = ids.get(r.urn) as string;
        for (const d of new Set(r.dependencies)) {
            const dep = graph.byUrn.get(d);
            if (dep) {
                lines.push(`  ${ids.get(d)} -> ${to}${dep.custom ? "" : ` [ltail=cluster_${ids.get(d)}]`};`);
            }
        }
        const pred = graph.predecessors(r);
        if (pred.provider) {
            lines.push(`  ${ids.get(pred.provider)} -> ${to} [style=dotted];`);
        }
        if (pred.parent) {
            lines.push(`  ${ids.get(pred.parent)} -> ${to} [style=dashed, arrowhead=odot];`);
        }
    }
    lines.push("}");
    return `${lines.join("\n")}\n`;
}

/** One top-level component of the program (a child of `DjangoPlatform`), with what it holds. */
export interface ComponentNode {
    readonly urn: string;
    /** The component's class: the last segment of its type (`Database`). */
    readonly title: string;
    /** Its logical name (`django-database`). */
    readonly name: string;
    /** Custom resources under it, at any depth. */
    readonly resources: number;
    /** What it creates that matters for the picture, in a fixed order (`Cloud SQL (POSTGRES_16)`, `Job ×2`). */
    readonly highlights: readonly string[];
    /** The package most of its resources come from (`gcp`, `kubernetes`), for the box's colour. */
    readonly package: string;
}

/**
 * An edge between two components (or from the internet). `dependency`: resources of `to` wait for
 * resources of `from` (inputs, `dependsOn` or the Kubernetes provider); `pairs` lists them.
 * `traffic`: requests go from `from` to `to` at run time.
 */
export interface ComponentEdge {
    readonly from: string;
    readonly to: string;
    readonly kind: "dependency" | "traffic";
    readonly label?: string;
    readonly pairs: readonly string[];
}

/** The resource graph collapsed into the program's top-level components. */
export interface ComponentGraph {
    readonly components: readonly ComponentNode[];
    readonly edges: readonly ComponentEdge[];
}

/** Where requests come from, as a node of the component picture. */
export const INTERNET = "internet";

type Predicate = (r: GraphResource) => boolean;

const isType = (...types: string[]): Predicate => (r) => types.includes(r.type);
const images = (r: GraphResource): string[] => {
    const spec = (r.inputs?.spec as { template?: { spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] } } } | undefined)?.template?.spec;
    return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => c.image ?? "");
};
const isLoadBalancer: Predicate = (r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress" || (r.type === "kubernetes:core/v1:Service" && (r.inputs?.spec as { type?: string } | undefined)?.type === "LoadBalancer");
const isWeb = isType("kubernetes:apps/v1:Deployment");
const isRedis: Predicate = (r) => r.type === "gcp:redis/instance:Instance" || (r.type === "kubernetes:apps/v1:StatefulSet" && images(r).some((i) => /(^|\/)redis[:@]/.test(i)));
const isCloudSql = isType("gcp:sql/databaseInstance:DatabaseInstance");
/** The media bucket: the one whose objects the app's identities may write (components/media.ts). */
const isUploads: Predicate = (r) => r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" && r.inputs?.role === "roles/storage.objectUser";
const isCronJob = isType("kubernetes:batch/v1:CronJob");
const isPublicStatics: Predicate = (r) => r.type === "gcp:compute/backendBucket:BackendBucket" || (r.type === "gcp:storage/bucketIAMMember:BucketIAMMember" && r.inputs?.member === "allUsers");

/**
 * Who talks to whom at run time, found in the graph: each rule draws an edge between the
 * components that hold matching resources, and nothing when either side is absent.
 */
const TRAFFIC: readonly { from: Predicate | typeof INTERNET; to: Predicate; label: (all: readonly GraphResource[]) => string }[] = [
    { from: INTERNET, to: isLoadBalancer, label: () => "HTTPS" },
    { from: isLoadBalancer, to: isWeb, label: () => "HTTP to the web pods" },
    { from: isWeb, to: isRedis, label: (all) => (all.some(isType("gcp:redis/instance:Instance")) ? "Redis (TLS)" : "Redis") },
    {
        from: isWeb,
        to: isCloudSql,
        label: (all) => (all.filter(isWeb).some((r) => images(r).some((i) => i.includes("cloud-sql-proxy"))) ? "PostgreSQL via the\nAuth Proxy sidecar" : "PostgreSQL (TLS)"),
    },
    { from: isWeb, to: isUploads, label: () => "uploads" },
    { from: isCronJob, to: isCloudSql, label: () => "PostgreSQL" },
    { from: INTERNET, to: isPublicStatics, label: (all) => (all.some(isType("gcp:compute/backendBucket:BackendBucket")) ? "static files\n(Cloud CDN)" : "static files") },
];

/** What a component's box lists, in this order, when the component holds such a resource. */
const HIGHLIGHTS: readonly [string, (r: GraphResource) => string | undefined][] = [
    ["gcp:compute/network:Network", () => "VPC"],
    ["gcp:compute/subnetwork:Subnetwork", () => "subnet"],
    ["gcp:compute/routerNat:RouterNat", () => "Cloud NAT"],
    ["gcp:servicenetworking/connection:Connection", () => "private services access"],
    ["gcp:sql/databaseInstance:DatabaseInstance", (r) => `Cloud SQL (${String(r.inputs?.databaseVersion ?? "PostgreSQL")})`],
    ["gcp:sql/database:Database", () => "database"],
    ["gcp:sql/user:User", () => "user"],
    ["gcp:storage/bucket:Bucket", () => "GCS bucket"],
    ["gcp:compute/backendBucket:BackendBucket", () => "Cloud CDN"],
    ["gcp:container/cluster:Cluster", (r) => (r.inputs?.enableAutopilot ? "GKE Autopilot" : "GKE cluster")],
    ["gcp:kms/cryptoKey:CryptoKey", () => "KMS key"],
    ["kubernetes:core/v1:Namespace", () => "namespace"],
    ["gcp:redis/instance:Instance", () => "Memorystore for Redis"],
    ["kubernetes:apps/v1:StatefulSet", (r) => (isRedis(r) ? "Redis StatefulSet" : "StatefulSet")],
    ["kubernetes:apps/v1:Deployment", (r) => (images(r).some((i) => i.includes("cloud-sql-proxy")) ? "web Deployment + Auth Proxy" : "web Deployment")],
    ["kubernetes:autoscaling/v2:HorizontalPodAutoscaler", () => "HPA"],
    ["kubernetes:batch/v1:Job", () => "Job"],
    ["kubernetes:networking.k8s.io/v1:Ingress", () => "Ingress (HTTPS load balancer)"],
    ["gcp:compute/globalAddress:GlobalAddress", (r) => (r.inputs?.purpose === "VPC_PEERING" ? undefined : "global IP")],
    ["kubernetes:networking.gke.io/v1:ManagedCertificate", () => "managed certificate"],
    ["kubernetes:networking.k8s.io/v1:NetworkPolicy", () => "NetworkPolicy"],
];

/**
 * Collapses the resource graph into the program's top-level components — the children of the
 * one root component (`DjangoPlatform`) — with the dependencies between them and the traffic
 * between them. Resources outside every component (the stack, default providers) are ignored.
 */
export function componentGraph(resources: readonly GraphResource[]): ComponentGraph {
    const graph = new ResourceGraph(resources);
    const isRoot = (r: GraphResource) => !r.custom && r.type !== "pulumi:pulumi:Stack" && (!r.parent || graph.byUrn.get(r.parent)?.type === "pulumi:pulumi:Stack");
    const roots = resources.filter(isRoot);
    const nested = roots.length === 1 ? (graph.children.get(roots[0].urn) ?? []).filter((r) => !r.custom) : [];
    const top = nested.length > 0 ? nested : roots;
    const topUrns = new Set(top.map((c) => c.urn));

    const owner = new Map<string, string>();
    const componentOf = (urn: string): string | undefined => {
        if (!owner.has(urn)) {
            let r = graph.byUrn.get(urn);
            while (r && !topUrns.has(r.urn)) {
                r = r.parent ? graph.byUrn.get(r.parent) : undefined;
            }
            owner.set(urn, r?.urn ?? "");
        }
        return owner.get(urn) || undefined;
    };
    const members = resources.filter((r) => r.custom && componentOf(r.urn) !== undefined);

    const components: ComponentNode[] = top.map((c) => {
        const mine = members.filter((r) => componentOf(r.urn) === c.urn);
        const counts = new Map<string, number>();
        for (const [type, describe] of HIGHLIGHTS) {
            for (const r of mine.filter((m) => m.type === type)) {
                const text = describe(r);
                if (text !== undefined) {
                    counts.set(text, (counts.get(text) ?? 0) + 1);
                }
            }
        }
        const packages = new Map<string, number>();
        for (const r of mine) {
            const pkg = r.type.startsWith("pulumi:providers:") ? "pulumi" : r.type.split(":")[0];
            packages.set(pkg, (packages.get(pkg) ?? 0) + 1);
        }
        return {
            urn: c.urn,
            title: shortType(c.type),
            name: nameOfUrn(c.urn),
            resources: mine.length,
            highlights: [...counts].map(([text, n]) => (n > 1 ? `${text} ×${n}` : text)),
            package: [...packages].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "pulumi",
        };
    });

    const edges = new Map<string, { from: string; to: string; kind: ComponentEdge["kind"]; label?: string; pairs: string[] }>();
    const add = (from: string, to: string, kind: ComponentEdge["kind"], pair: string, label?: string) => {
        const key = `${kind} ${from} ${to}`;
        const edge = edges.get(key) ?? { from, to, kind, label, pairs: [] };
        if (!edge.pairs.includes(pair)) {
            edge.pairs.push(pair);
        }
        edges.set(key, edge);
    };
    for (const r of members) {
        const to = componentOf(r.urn) as string;
        const pred = graph.predecessors(r);
        for (const d of [...pred.dependencies, ...(pred.provider ? [pred.provider] : [])]) {
            const from = componentOf(d);
            if (from && from !== to) {
                add(from, to, "dependency", `${nameOfUrn(d)} → ${nameOfUrn(r.urn)}`);
            }
        }
    }
    for (const rule of TRAFFIC) {
        const sources = rule.from === INTERNET ? [INTERNET] : members.filter(rule.from).map((r) => r.urn);
        for (const target of members.filter(rule.to)) {
            for (const source of sources) {
                const from = source === INTERNET ? INTERNET : (componentOf(source) as string);
                const to = componentOf(target.urn) as string;
                if (from !== to) {
                    add(from, to, "traffic", `${source === INTERNET ? INTERNET : nameOfUrn(source)} → ${nameOfUrn(target.urn)}`, rule.label(members));
                }
            }
        }
    }
    return { components, edges: [...edges.values()] };
}

/** Wraps `items` into lines of at most `width` characters, joined by `separator`. */
function wrap(items: readonly string[], width: number, separator = " · "): string[] {
    const lines: string[] = [];
    for (const item of items) {
        const last = lines[lines.length - 1];
        if (last !== undefined && last.length + separator.length + item.length <= width) {
            lines[lines.length - 1] = `${last}${separator}${item}`;
        } else {
            lines.push(item);
        }
    }
    return lines;
}

/** The line under the component picture's title. */
export const COMPONENT_LEGEND = "blue: requests at run time · grey dashed: deploy order, from what is created first (hover for the resources)";

/** Escapes text for a Graphviz HTML-like label. */
function html(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Components no request reaches are drawn at the bottom, this many side by side. */
const FOUNDATIONS_PER_ROW = 3;

/**
 * The component picture in DOT, top to bottom: the internet, what answers it, the web pods, what
 * they use, and the foundations (the components no request reaches) at the bottom. Blue edges
 * are requests; grey dashed edges point from a component to the ones that wait for it (hover for
 * the resource pairs behind an edge). Boxes are coloured by the package most of their resources
 * come from, as in the full graph. Sized for a page about 800 px wide.
 */
export function componentDot(graph: ComponentGraph, title: string): string {
    const ids = new Map<string, string>(graph.components.map((c, i) => [c.urn, `c${i}`]));
    ids.set(INTERNET, INTERNET);
    const lines = [
        `digraph ${dotString(title)} {`,
        "  rankdir=TB;",
        // Tight enough that the staging picture stays within 760 pt (tests/synth-architecture.test.ts).
        "  nodesep=0.15;",
        "  ranksep=0.45;",
        `  label=<${html(title)}<br/><font point-size="10" color="#5f6368">${html(COMPONENT_LEGEND)}</font>>;`,
        "  labelloc=t;",
        '  fontname="Helvetica";',
        "  fontsize=15;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=12, color="#5f6368", margin="0.12,0.06", fixedsize=false];',
        '  edge [fontname="Helvetica", fontsize=11];',
        `  ${INTERNET} [label="Internet\\n(browsers)", shape=ellipse, fillcolor="#ffffff", width=${labelWidth("(browsers)", 12)}];`,
    ];
    const wrapAt = 30;
    for (const c of graph.components) {
        const body = wrap(c.highlights, wrapAt);
        const count = `${c.resources} resource${c.resources === 1 ? "" : "s"}`;
        const sub = `${c.name} · ${count}`.length > wrapAt ? [c.name, count] : [`${c.name} · ${count}`];
        const label = [`<b>${html(c.title)}</b>`, ...sub.map((line) => `<font point-size="10" color="#5f6368">${html(line)}</font>`), ...body.map((line) => `<font point-size="11">${html(line)}</font>`)].join("<br/>");
        const width = Math.max(labelWidth(c.title, 12), ...sub.map((line) => labelWidth(line, 10)), ...body.map((line) => labelWidth(line, 11)));
        lines.push(`  ${ids.get(c.urn)} [label=<${label}>, width=${width}, fillcolor=${dotString(PALETTE[c.package] ?? "#ffffff")}, tooltip=${dotString(`${c.name} (${c.resources} resources)`)}];`);
    }
    const traffic = graph.edges.filter((e) => e.kind === "traffic");
    const served = new Set(traffic.flatMap((e) => [e.from, e.to]));
    const foundations = graph.components.filter((c) => !served.has(c.urn)).map((c) => ids.get(c.urn) as string);
    lines.push(`  { rank=min; ${INTERNET}; }`);
    if (foundations.length > 0) {
        // Below the last components requests reach: invisible edges push the foundations down, in
        // rows of at most FOUNDATIONS_PER_ROW so that the picture stays about 800 px wide.
        const sinks = [...new Set(traffic.filter((e) => e.from !== INTERNET && !traffic.some((x) => x.from === e.to)).map((e) => e.to))];
        let above = sinks.map((sink) => ids.get(sink) as string);
        for (let i = 0; i < foundations.length; i += FOUNDATIONS_PER_ROW) {
            const row = foundations.slice(i, i + FOUNDATIONS_PER_ROW);
            lines.push(`  { rank=same; ${row.join("; ")}; }`);
            for (const a of above) {
                for (const f of row) {
                    lines.push(`  ${a} -> ${f} [style=invis];`);
                }
            }
            above = row;
        }
    }
    for (const e of traffic) {
        lines.push(`  ${ids.get(e.from)} -> ${ids.get(e.to)} [label=${dotString(` ${e.label ?? ""}`)}, color="#1a73e8", fontcolor="#174ea6", penwidth=2, tooltip=${dotString(e.pairs.join("\n"))}];`);
    }
    for (const e of graph.edges.filter((x) => x.kind === "dependency")) {
        lines.push(`  ${ids.get(e.from)} -> ${ids.get(e.to)} [style=dashed, color="#9aa0a6", arrowsize=0.7, constraint=false, tooltip=${dotString(`created first (${e.pairs.length}):\n${e.pairs.join("\n")}`)}];`);
    }
    lines.push("}");
    return `${lines.join("\n")}\n`;
}

/**
 * The Graphviz worker: plain JavaScript (no TypeScript loader needed, `execArgv: []` keeps tsx's
 * hooks out of it), loading the WebAssembly build once and laying out each DOT it is sent.
 */
const SVG_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const graphviz = import(workerData.url).then((m) => m.Graphviz.load());
graphviz.catch(() => undefined);
parentPort.on("message", ({ id, dot }) => {
    graphviz.then((g) => g.dot(dot, "svg")).then(
        (svg) => parentPort.postMessage({ id, svg }),
        (err) => parentPort.postMessage({ id, error: String((err && err.message) || err) }),
    );
});`;

interface SvgWorker {
    readonly worker: Worker;
    readonly pending: Map<number, { resolve(svg: string): void; reject(err: Error): void }>;
    nextId: number;
}

let svgWorker: SvgWorker | undefined;

/** The process's Graphviz worker, started on first use; it never keeps the process alive by itself. */
function graphvizWorker(): SvgWorker {
    if (svgWorker !== undefined) {
        return svgWorker;
    }
    const url = pathToFileURL(require.resolve("@hpcc-js/wasm-graphviz")).href;
    const worker = new Worker(SVG_WORKER, { eval: true, workerData: { url }, execArgv: [] });
    const state: SvgWorker = { worker, pending: new Map(), nextId: 0 };
    const failAll = (err: Error): void => {
        if (svgWorker === state) {
            svgWorker = undefined;
        }
        for (const { reject } of state.pending.values()) {
            reject(err);
        }
        state.pending.clear();
    };
    worker.on("message", (m: { id: number; svg?: string; error?: string }) => {
        const request = state.pending.get(m.id);
        state.pending.delete(m.id);
        if (state.pending.size === 0) {
            worker.unref();
        }
        if (m.error !== undefined) {
            request?.reject(new Error(`graphviz: ${m.error}`));
        } else {
            request?.resolve(m.svg ?? "");
        }
    });
    worker.on("error", failAll);
    worker.on("exit", (code) => failAll(new Error(`graphviz worker exited with code ${code}`)));
    worker.unref();
    svgWorker = state;
    return state;
}

/**
 * Starts Graphviz now (a worker thread compiling the WebAssembly build), so that a later
 * {@link renderSvg} finds it ready: synth calls it first, and the loading runs beside the program.
 */
export function warmUpSvg(): void {
    graphvizWorker();
}

/**
 * Renders DOT to SVG with Graphviz (WebAssembly build, no system binary needed), in a worker
 * thread: the layout runs beside the caller's work, on another core when there is one.
 */
export function renderSvg(dot: string): Promise<string> {
    const state = graphvizWorker();
    const id = state.nextId++;
    return new Promise<string>((resolve, reject) => {
        state.pending.set(id, { resolve, reject });
        state.worker.ref();
        state.worker.postMessage({ id, dot });
    });
}
