/**
 * The site on localhost: what the Google load balancer (the stack's Ingress) and its CDN do for a
 * browser, over plain http on 127.0.0.1.
 *
 * - Requests go to the ready pods of the Deployments behind the Ingress's Services, in turn; with
 *   none ready the answer is 502, as the load balancer's without a healthy backend.
 * - The load balancer terminates TLS and tells the app so: each request gets the site's host name
 *   (the ManagedCertificate's first domain) as Host, `X-Forwarded-Proto: https`,
 *   `X-Forwarded-For: <client>, <load balancer>`, `Via: 1.1 google` and an
 *   `X-Cloud-Trace-Context` (https://cloud.google.com/load-balancing/docs/https#target-proxies,
 *   https://cloud.google.com/trace/docs/trace-context#legacy-http-header); a browser's
 *   `Origin`/`Referer` naming this local address are sent as `https://<host>` (what the browser
 *   would send to the real site).
 * - Answers come back the other way round: `Location: https://<host>/…` points here, and cookies
 *   lose `Secure` (this side is plain http). In HTML pages the static files' URL
 *   (DJANGO_APP_STATIC_URL, the CDN or the bucket as rendered) points at the GCS emulator, where
 *   the collectstatic Job wrote them.
 */
import { randomBytes } from "node:crypto";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LocalPod } from "./pod";

/** Options of {@link SiteFront.start}. */
export interface FrontOptions {
    /** Port on 127.0.0.1 (0: any free one). */
    readonly port: number;
    /** The site's host name (what the app's ALLOWED_HOSTS holds). */
    readonly host: string;
    /** The pods behind the load balancer. */
    readonly backends: () => readonly LocalPod[];
    /** DJANGO_APP_STATIC_URL as rendered, and where those files are here. */
    readonly statics?: { readonly rendered: string; readonly local: string };
}

/** Thrown when the port is taken. */
export class PortInUseError extends Error {
    constructor(readonly port: number) {
        super(`port ${port} on 127.0.0.1 is in use: pass another with --port <n> (--port 0 picks a free one)`);
    }
}

/** The load balancer stand-in. */
export class SiteFront {
    requests = 0;
    noBackend = 0;
    private next = 0;

    private constructor(
        private readonly server: Server,
        readonly port: number,
        private readonly options: FrontOptions,
    ) {}

    /** Listens on 127.0.0.1:`options.port`; throws {@link PortInUseError} when it is taken. */
    static async start(options: FrontOptions): Promise<SiteFront> {
        let front: SiteFront | undefined;
        const server = createServer((req, res) => front?.handle(req, res));
        await new Promise<void>((resolve, reject) => {
            server.once("error", (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(options.port) : error));
            server.listen(options.port, "127.0.0.1", () => resolve());
        });
        front = new SiteFront(server, (server.address() as AddressInfo).port, options);
        return front;
    }

    /** http://127.0.0.1:<port>/ */
    get url(): string {
        return `http://127.0.0.1:${this.port}/`;
    }

    /** Stops listening and drops open connections. */
    async close(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }

    private handle(req: IncomingMessage, res: ServerResponse): void {
        this.requests += 1;
        const ready = this.options.backends().filter((p) => p.ready && p.plan.port);
        if (ready.length === 0) {
            this.noBackend += 1;
            res.writeHead(502, { "Content-Type": "text/plain" }).end("502: no ready pod behind the load balancer (django-platform local)\n");
            return;
        }
        const pod = ready[this.next++ % ready.length] as LocalPod;
        const here = `http://${req.headers.host ?? `127.0.0.1:${this.port}`}`;
        const site = `https://${this.options.host}`;
        const headers: Record<string, string | string[] | undefined> = { ...req.headers };
        headers.host = this.options.host;
        headers["x-forwarded-proto"] = "https";
        headers["x-forwarded-for"] = `${req.socket.remoteAddress ?? "127.0.0.1"}, 127.0.0.1`;
        headers.via = "1.1 google";
        headers["x-cloud-trace-context"] ??= `${randomBytes(16).toString("hex")}/${BigInt(`0x${randomBytes(6).toString("hex")}`).toString()};o=1`;
        for (const name of ["origin", "referer"]) {
            const value = headers[name];
            if (typeof value === "string" && value.startsWith(here)) headers[name] = site + value.slice(here.length);
        }
        const upstream = request({ host: "127.0.0.1", port: pod.plan.port?.local, method: req.method, path: req.url, headers, agent: false }, (answer) => {
            const out: Record<string, string | string[] | undefined> = { ...answer.headers };
            const location = out.location;
            if (typeof location === "string" && location.startsWith(site)) out.location = here + location.slice(site.length);
            const cookies = out["set-cookie"];
            if (cookies) out["set-cookie"] = [cookies].flat().map((c) => c.replace(/;\s*Secure(?=;|$)/gi, ""));
            const statics = this.options.statics;
            const html = /^text\/html/.test(String(out["content-type"] ?? "")) && !out["content-encoding"];
            if (!statics || !html) {
                res.writeHead(answer.statusCode ?? 502, out);
                answer.pipe(res);
                return;
            }
            const chunks: Buffer[] = [];
            answer.on("data", (c: Buffer) => chunks.push(c));
            answer.on("end", () => {
                const body = Buffer.from(Buffer.concat(chunks).toString("utf8").replaceAll(statics.rendered, statics.local));
                out["content-length"] = String(body.length);
                delete out["transfer-encoding"];
                res.writeHead(answer.statusCode ?? 502, out);
                res.end(body);
            });
        });
        upstream.on("error", (error) => {
            if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
            res.end(`502: ${error.message}\n`);
        });
        req.pipe(upstream);
    }
}
