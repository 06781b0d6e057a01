/**
 * The app's way out to Google's HTTPS APIs, on this machine: an HTTP proxy on loopback that the
 * app's processes reach through `HTTPS_PROXY`, as behind a corporate proxy. It opens a tunnel
 * (`CONNECT host:443`) only to the Google API hosts a stand-in answers for
 * (`iamcredentials.googleapis.com`: signBlob), terminates TLS there with a certificate of a local
 * CA the processes trust through `REQUESTS_CA_BUNDLE`, and refuses every other destination, so
 * nothing leaves the machine and every attempt shows in the status table.
 *
 * Why a proxy: google-cloud-storage posts the string to sign to
 * `https://iamcredentials.{universe_domain}/v1/projects/-/serviceAccounts/{email}:signBlob` with no
 * setting to point it elsewhere (google/cloud/storage/_signing.py `_sign_message`); it sends it
 * through google-auth's requests transport, and requests takes `HTTPS_PROXY`, `NO_PROXY` and
 * `REQUESTS_CA_BUNDLE` from the environment (requests `Session.merge_environment_settings`).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { LocalCa } from "./certificates";

/** Handles the requests of one tunnelled host. */
export type HostHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** The proxy and the TLS endpoint behind it. */
export class GoogleApisEgress {
    /** Destinations refused, e.g. `CONNECT storage.googleapis.com:443`. */
    readonly refused: string[] = [];

    private constructor(
        private readonly proxy: Server,
        private readonly tls: HttpsServer,
        /** Loopback port of the proxy (HTTPS_PROXY). */
        readonly port: number,
    ) {}

    /** Starts the proxy; `handlers` maps host names to what answers them. */
    static async start(ca: LocalCa, handlers: Readonly<Record<string, HostHandler>>): Promise<GoogleApisEgress> {
        const hosts = Object.keys(handlers);
        const certificate = await ca.issue(hosts);
        const tls = createHttpsServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
            const host = (req.headers.host ?? "").replace(/:443$/, "");
            const handler = handlers[host];
            if (!handler) {
                res.writeHead(421).end();
                return;
            }
            Promise.resolve(handler(req, res)).catch((error: unknown) => {
                if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
                res.end(String(error));
            });
        });
        const proxy = createHttpServer((req, res) => {
            egress.refused.push(`${req.method} ${req.url}`);
            res.writeHead(403, { "Content-Type": "text/plain" }).end("django-platform local: no egress from this machine\n");
        });
        proxy.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
            const [host, port] = (req.url ?? "").split(":");
            if (host === undefined || !(host in handlers) || port !== "443") {
                egress.refused.push(`CONNECT ${req.url}`);
                socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
                return;
            }
            socket.on("error", () => undefined);
            socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
            if (head.length > 0) socket.unshift(head);
            tls.emit("connection", socket);
        });
        await new Promise<void>((resolve, reject) => {
            proxy.once("error", reject);
            proxy.listen(0, "127.0.0.1", () => resolve());
        });
        const egress = new GoogleApisEgress(proxy, tls, (proxy.address() as AddressInfo).port);
        return egress;
    }

    /** The proxy URL for HTTPS_PROXY. */
    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** Stops the proxy and drops its tunnels. */
    async close(): Promise<void> {
        this.proxy.closeAllConnections();
        this.tls.closeAllConnections();
        await new Promise<void>((resolve) => this.proxy.close(() => resolve()));
        this.tls.close();
    }
}
