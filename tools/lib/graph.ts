/**
 * The resource graph of a stack: what waits for what, as the Pulumi engine orders creation, and a
 * drawing of it (DOT, rendered to SVG with Graphviz compiled to WebAssembly).
 *
 * No DOT-building library is installed (`ts-graphviz` is not a dependency), so the DOT text is
 * generated here; every label goes through {@link dotString} and node ids are synthetic (`n12`),
 * so resource names cannot break the syntax.
 */

/** The fields of a resource that ordering and drawing need (captured or exported resources both fit). */
export interface GraphResource {
    readonly urn: string;
    readonly type: string;
    readonly custom: boolean;
    readonly parent?: string;
    /** Provider reference `urn::id`. */
    readonly provider?: string;
    readonly dependencies: readonly string[];
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

/**
 * The graph in DOT: components as nested clusters; solid edges for dependencies, dotted for
 * explicit providers, dashed for custom parents. Edges point from what is created first.
 * Resources for which `hide` is true (e.g. the stack root, default providers) are left out,
 * with their edges.
 */
export function toDot(resources: readonly GraphResource[], title: string, hide: (r: GraphResource) => boolean = () => false): string {
    const shown = resources.filter((r) => !hide(r));
    const graph = new ResourceGraph(shown);
    const ids = new Map<string, string>();
    shown.forEach((r, i) => ids.set(r.urn, `n${i}`));
    const lines = [`digraph ${dotString(title)} {`, "  rankdir=LR;", "  compound=true;", `  label=${dotString(title)};`, "  labelloc=t;", '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];', '  edge [color="#5f6368"];'];

    const emit = (r: GraphResource, indent: string): void => {
        const id = ids.get(r.urn) as string;
        if (r.custom) {
            lines.push(`${indent}${id} [label=${dotString(`${nameOfUrn(r.urn)}\n${r.type}`)}, fillcolor=${dotString(fill(r.type))}];`);
            return;
        }
        lines.push(`${indent}subgraph cluster_${id} {`);
        lines.push(`${indent}  label=${dotString(`${nameOfUrn(r.urn)}\n${r.type}`)}; style="rounded,dashed"; fontname="Helvetica"; fontsize=11;`);
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

/** Renders DOT to SVG with Graphviz (WebAssembly build, no system binary needed). */
export async function renderSvg(dot: string): Promise<string> {
    const { Graphviz } = await import("@hpcc-js/wasm-graphviz");
    const graphviz = await Graphviz.load();
    return graphviz.dot(dot, "svg");
}
