/**
 * HTTP clients on loopback for the keep-alive test (tests/reliability.test.ts) and the kubelet's
 * probes (cli/lib/local/probes.ts):
 *
 * - {@link KeepAliveConnection}: one raw HTTP/1.1 connection reused the way a load balancer reuses
 *   its backend connections. Node's http.Agent would quietly replace a connection the server has
 *   closed; this one reports it, because the load balancer may send on it at that very moment.
 * - {@link probeOnce}: a kubelet-style HTTP probe (a new connection each time, a timeout).
 */
import { request } from "node:http";
import { connect, type Socket } from "node:net";

/** How a request on a reused connection failed. */
export type ReuseFailure = "ECONNRESET" | "EPIPE" | "closed-by-server" | "timeout" | "other";

/** Error of {@link KeepAliveConnection.get}, with its {@link ReuseFailure} kind. */
export class ReuseError extends Error {
    constructor(
        readonly kind: ReuseFailure,
        message: string,
    ) {
        super(message);
    }
}

/** A response read to its end. */
export interface RawResponse {
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body: string;
}

/** Parses one HTTP/1.1 response from `buffer`, or returns undefined while it is incomplete. */
export function parseResponse(buffer: Buffer): { response: RawResponse; rest: Buffer } | undefined {
    const end = buffer.indexOf("\r\n\r\n");
    if (end === -1) return undefined;
    const [statusLine = "", ...lines] = buffer.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
    const headers: Record<string, string> = {};
    for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let offset = end + 4;
    if (headers["transfer-encoding"]?.toLowerCase().includes("chunked")) {
        const chunks: Buffer[] = [];
        for (;;) {
            const lineEnd = buffer.indexOf("\r\n", offset);
            if (lineEnd === -1) return undefined;
            const size = parseInt(buffer.subarray(offset, lineEnd).toString("latin1"), 16);
            if (Number.isNaN(size)) throw new Error(`bad chunk size in response: ${buffer.subarray(offset, lineEnd).toString("latin1")}`);
            if (buffer.length < lineEnd + 2 + size + 2) return undefined;
            if (size === 0) {
                offset = lineEnd + 4;
                break;
            }
            chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
            offset = lineEnd + 2 + size + 2;
        }
        return { response: { status, headers, body: Buffer.concat(chunks).toString("utf8") }, rest: buffer.subarray(offset) };
    }
    const length = Number(headers["content-length"] ?? 0);
    if (buffer.length < offset + length) return undefined;
    return { response: { status, headers, body: buffer.subarray(offset, offset + length).toString("utf8") }, rest: buffer.subarray(offset + length) };
}

/**
 * One persistent HTTP/1.1 connection to 127.0.0.1:`port`. Requests are sent on the same socket
 * every time; if the server closed it while it was idle, the next request fails with
 * `closed-by-server` (or ECONNRESET/EPIPE if the close crossed the request), as it would for a
 * load balancer that reused the connection.
 */
export class KeepAliveConnection {
    private buffer = Buffer.alloc(0);
    private serverClosed = false;
    private error: NodeJS.ErrnoException | undefined;
    private pending: { resolve: (r: RawResponse) => void; reject: (e: ReuseError) => void } | undefined;

    private constructor(private readonly socket: Socket) {
        socket.on("data", (chunk: Buffer) => {
            this.buffer = Buffer.concat([this.buffer, chunk]);
            this.deliver();
        });
        socket.on("end", () => {
            this.serverClosed = true;
            this.fail(new ReuseError("closed-by-server", "the server closed the connection before answering"));
        });
        socket.on("error", (error: NodeJS.ErrnoException) => {
            this.error = error;
            this.fail(classify(error));
        });
        socket.on("close", () => {
            this.serverClosed = true;
            this.fail(new ReuseError("closed-by-server", "the connection closed before the response"));
        });
    }

    /** Opens a connection to 127.0.0.1:`port`. */
    static open(port: number, timeoutMs = 5_000): Promise<KeepAliveConnection> {
        return new Promise((resolve, reject) => {
            const socket = connect({ host: "127.0.0.1", port });
            const timer = setTimeout(() => socket.destroy(new Error(`connect to ${port} timed out`)), timeoutMs);
            socket.once("connect", () => {
                clearTimeout(timer);
                socket.setNoDelay(true);
                resolve(new KeepAliveConnection(socket));
            });
            socket.once("error", (error) => {
                clearTimeout(timer);
                reject(error);
            });
        });
    }

    /** True once the server has closed this connection (or it failed). */
    get closed(): boolean {
        return this.serverClosed || this.error !== undefined || this.socket.destroyed;
    }

    /** Sends `GET path` on this connection and reads the response. Rejects with a {@link ReuseError}. */
    get(path: string, headers: Record<string, string>, timeoutMs = 10_000): Promise<RawResponse> {
        if (this.pending) return Promise.reject(new ReuseError("other", "a request is already in flight"));
        if (this.error) return Promise.reject(classify(this.error));
        if (this.closed) return Promise.reject(new ReuseError("closed-by-server", "the server had closed the idle connection"));
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => this.fail(new ReuseError("timeout", `no response within ${timeoutMs} ms`)), timeoutMs);
            this.pending = {
                resolve: (r) => {
                    clearTimeout(timer);
                    resolve(r);
                },
                reject: (e) => {
                    clearTimeout(timer);
                    reject(e);
                },
            };
            const head = [`GET ${path} HTTP/1.1`, ...Object.entries({ Connection: "keep-alive", ...headers }).map(([k, v]) => `${k}: ${v}`), "", ""].join("\r\n");
            this.socket.write(head);
        });
    }

    /** Closes the connection from this side. */
    close(): void {
        this.socket.destroy();
    }

    private deliver(): void {
        if (!this.pending) return;
        let parsed: ReturnType<typeof parseResponse>;
        try {
            parsed = parseResponse(this.buffer);
        } catch (error) {
            this.fail(new ReuseError("other", String(error)));
            return;
        }
        if (!parsed) return;
        this.buffer = Buffer.from(parsed.rest);
        const { resolve } = this.pending;
        this.pending = undefined;
        resolve(parsed.response);
    }

    private fail(error: ReuseError): void {
        const pending = this.pending;
        this.pending = undefined;
        pending?.reject(error);
    }
}

function classify(error: NodeJS.ErrnoException): ReuseError {
    if (error.code === "ECONNRESET") return new ReuseError("ECONNRESET", error.message);
    if (error.code === "EPIPE") return new ReuseError("EPIPE", error.message);
    return new ReuseError("other", `${error.code ?? ""} ${error.message}`.trim());
}

/** Result of one request or probe. */
export interface Outcome {
    /** HTTP status, or undefined when no response arrived. */
    readonly status?: number;
    /** Why no response arrived: "timeout", an errno code, … */
    readonly error?: string;
    /** Milliseconds from sending to the end of the response (or the failure). */
    readonly ms: number;
}

/**
 * One GET on a new connection to 127.0.0.1:`port` (`Connection: close`), with a timeout — what
 * the kubelet does for an HTTP probe.
 */
export function probeOnce(port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<Outcome> {
    const started = performance.now();
    return new Promise((resolve) => {
        let settled = false;
        const done = (outcome: Omit<Outcome, "ms">) => {
            if (settled) return;
            settled = true;
            resolve({ ...outcome, ms: performance.now() - started });
        };
        const req = request({ host: "127.0.0.1", port, path, method: "GET", agent: false, headers: { ...headers, Connection: "close" } }, (res) => {
            res.on("data", () => undefined);
            res.on("end", () => done({ status: res.statusCode }));
            res.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
        });
        const timer = setTimeout(() => {
            done({ error: "timeout" });
            req.destroy();
        }, timeoutMs);
        req.on("close", () => clearTimeout(timer));
        req.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
        req.end();
    });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
