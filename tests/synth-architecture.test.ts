/**
 * The pictures of docs/architecture.md: the component picture is the real resource graph
 * collapsed into DjangoPlatform's children, with the requests between them, readable at about
 * 800 px; both pictures are what `npm run docs:graph` draws now; the full graph's boxes are wide
 * enough for their labels.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { DIAGRAM_FILES, architectureDiagrams } from "../maint/docs-graph";
import { INTERNET, componentGraph, labelWidth, shortName, shortType, toDot, type ComponentGraph, type GraphResource } from "../cli/lib/graph";
import type { StackExport } from "../cli/lib/stackExport";
import { synth } from "../cli/synth";
import { withoutStackTraces } from "./helpers/platform";

/** DjangoPlatform's children in the staging stack, in the order the platform creates them. */
const CHILDREN = ["Network", "Database", "Statics", "Media", "Cluster", "Cache", "Workload", "Schedule", "Networking", "Dns", "Monitoring"];

async function exportOf(stack: string): Promise<StackExport> {
    const dir = mkdtempSync(path.join(tmpdir(), "synth-architecture-"));
    try {
        const code = await withoutStackTraces(() => synth({ stack, out: dir }, { stdout: () => undefined, stderr: () => undefined }), (c) => c !== 0);
        assert.equal(code, 0);
        return JSON.parse(readFileSync(path.join(dir, "stack-export.json"), "utf8")) as StackExport;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * The pictures `npm run docs:graph` draws now, and the staging export its synth wrote: one synth
 * of staging for the whole file (started by whichever describe needs it first).
 */
let stagingRun: Promise<{ drawn: Awaited<ReturnType<typeof architectureDiagrams>>; exportDoc: StackExport }> | undefined;
function stagingDiagrams(): NonNullable<typeof stagingRun> {
    stagingRun ??= withoutStackTraces(async () => {
        let exportDoc: StackExport | undefined;
        const drawn = await architectureDiagrams("staging", (doc) => (exportDoc = doc));
        assert.ok(exportDoc, "architectureDiagrams gave no stack export");
        return { drawn, exportDoc };
    });
    return stagingRun;
}

/** `Title → Title: label` for each traffic edge. */
function traffic(graph: ComponentGraph): string[] {
    const title = (urn: string) => (urn === INTERNET ? INTERNET : (graph.components.find((c) => c.urn === urn)?.title ?? urn));
    return graph.edges.filter((e) => e.kind === "traffic").map((e) => `${title(e.from)} → ${title(e.to)}: ${(e.label ?? "").replace(/\n/g, " ")}`);
}

describe("docs/architecture-components.svg and docs/architecture-staging.svg", () => {
    let drawn: Awaited<ReturnType<typeof architectureDiagrams>>;
    before(async () => {
        drawn = (await stagingDiagrams()).drawn;
    });

    it("are what the program draws now (run `npm run docs:graph` if this fails)", () => {
        assert.equal(drawn.components, readFileSync(DIAGRAM_FILES.components, "utf8"), "docs/architecture-components.svg is out of date: npm run docs:graph");
        assert.equal(drawn.full, readFileSync(DIAGRAM_FILES.full, "utf8"), "docs/architecture-staging.svg is out of date: npm run docs:graph");
    });

    it("draws the component picture at most 760 pt wide with text of 10 pt or more (readable at 800 px)", () => {
        const width = Number(/<svg width="([\d.]+)pt"/.exec(drawn.components)?.[1]);
        assert.ok(width > 300 && width <= 760, `width ${width}pt`);
        const sizes = [...drawn.components.matchAll(/font-size="([\d.]+)"/g)].map((m) => Number(m[1]));
        assert.ok(sizes.length > 20 && Math.min(...sizes) >= 10, `font sizes ${[...new Set(sizes)].join(", ")}`);
        for (const name of [...CHILDREN, "Internet", "HTTPS", "Auth Proxy sidecar", "Redis", "static files"]) {
            assert.ok(drawn.components.includes(`>${name}`) || drawn.components.includes(name), `the picture does not show ${name}`);
        }
    });

    it("has a caption that counts the boxes it draws", () => {
        const words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen"];
        const caption = /\*`DjangoPlatform`'s (\w+) children in the staging stack/.exec(readFileSync(path.join(__dirname, "..", "docs", "architecture.md"), "utf8"));
        assert.ok(caption, "docs/architecture.md's caption names the number of children");
        const boxes = [...drawn.components.matchAll(/<g id="node\d+" class="node">\s*<title>c\d+<\/title>/g)].length;
        assert.equal(boxes, CHILDREN.length);
        assert.equal(caption[1], words[boxes], `the picture has ${boxes} children`);
    });

    it("is referenced by docs/architecture.md and the README", () => {
        assert.match(readFileSync(path.join(__dirname, "..", "docs", "architecture.md"), "utf8"), /^# Architecture\n\n!\[[^\]]+\]\(architecture-components\.svg\)/);
        assert.ok(readFileSync(path.join(__dirname, "..", "README.md"), "utf8").includes("](docs/architecture-components.svg)"));
    });
});

describe("componentGraph on the real stacks", () => {
    let staging: StackExport;
    let production: StackExport;
    before(async () => {
        staging = (await stagingDiagrams()).exportDoc;
        production = await exportOf("production");
    });

    it("collapses every resource under DjangoPlatform into one of its children", () => {
        const graph = componentGraph(staging.deployment.resources);
        assert.deepEqual(graph.components.map((c) => c.title), CHILDREN);
        const root = staging.deployment.resources.find((r) => r.type === "django-platform:index:DjangoPlatform");
        const under = (r: GraphResource): boolean => r.parent === root?.urn || staging.deployment.resources.some((p) => p.urn === r.parent && under(p));
        const custom = staging.deployment.resources.filter((r) => r.custom && under(r)).length;
        assert.equal(graph.components.reduce((n, c) => n + c.resources, 0), custom);
    });

    it("finds the requests: browser → load balancer → web pods → Redis, uploads and, through the proxy, Cloud SQL; CronJobs → Cloud SQL; browser → statics", () => {
        assert.deepEqual(traffic(componentGraph(staging.deployment.resources)), [
            "internet → Networking: HTTPS",
            "Networking → Workload: HTTP to the web pods",
            "Workload → Cache: Redis",
            "Workload → Database: PostgreSQL via the Auth Proxy sidecar",
            "Workload → Media: uploads",
            "Schedule → Database: PostgreSQL",
            "internet → Statics: static files",
        ]);
        assert.ok(traffic(componentGraph(production.deployment.resources)).includes("internet → Statics: static files (Cloud CDN)"));
    });

    it("draws the dependencies between components, with the resources behind them", () => {
        const graph = componentGraph(staging.deployment.resources);
        const dep = (from: string, to: string) => graph.edges.find((e) => e.kind === "dependency" && e.from.endsWith(`::${from}`) && e.to.endsWith(`::${to}`));
        assert.ok(dep("django-network", "django-database")?.pairs.includes("django-network-private-services → django-database-instance"));
        assert.ok(dep("django-cluster", "django-workload")?.pairs.some((p) => p.startsWith("django-cluster-k8s → ")), "the Kubernetes provider counts as a dependency");
        assert.ok(!dep("django-workload", "django-network"), "no edge against the creation order");
    });
});

describe("labels", () => {
    const urn = (type: string, name: string, parents = "") => `urn:pulumi:s::p::${parents}${type}::${name}`;
    const comp: GraphResource = { urn: urn("p:index:Comp", "django-database"), type: "p:index:Comp", custom: false, dependencies: [] };
    const instance: GraphResource = { urn: urn("gcp:sql/databaseInstance:DatabaseInstance", "django-database-instance"), type: "gcp:sql/databaseInstance:DatabaseInstance", custom: true, parent: comp.urn, dependencies: [] };

    it("shortens names by their component's prefix and types to their last segment; the tooltip keeps both in full", () => {
        assert.equal(shortName(instance, comp), "instance");
        assert.equal(shortName(instance, undefined), "django-database-instance");
        assert.equal(shortType(instance.type), "DatabaseInstance");
        assert.equal(shortType("pulumi:providers:kubernetes"), "kubernetes provider");
        const dot = toDot([comp, instance], "t");
        assert.match(dot, /label="instance\\nDatabaseInstance", width=[\d.]+, tooltip="django-database-instance\\ngcp:sql\/databaseInstance:DatabaseInstance"/);
    });

    it("widens a box for fonts wider than Helvetica (0.62 em per character plus margins)", () => {
        assert.equal(labelWidth("instance\nDatabaseInstance", 10), Math.ceil(((16 * 10 * 0.62) / 72 + 0.22) * 100) / 100);
        assert.ok(labelWidth("a", 10) < labelWidth("a much longer label", 10));
    });
});

