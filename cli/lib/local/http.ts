/**
 * Plain HTTP/1.1 clients on loopback for the local runner, the reliability runs and the tests:
 * requests with an explicit Host header (fetch cannot set Host, and the probes' Host — the pod IP —
 * is part of what is exercised), and starting an app server that must answer before it counts.
 */
import { request } from "node:http";
import { APP_DIR, imageBaseEnv, venvPython } from "../appPython";
import { GroupProcess, waitFor } from "./processes";

/** A response read to the end. */
export interface HttpResult {
    readonly status: number;
    readonly headers: Record<string, string | string[] | undefined>;
    readonly body: string;
}

/**
 * GET over real HTTP to 127.0.0.1:`port` with an explicit Host header. No redirects are followed.
 */
export function httpGet(port: number, path: string, headers: Record<string, string>): Promise<HttpResult> {
    return httpRequest(port, "GET", path, headers);
}

/** Any method over real HTTP to 127.0.0.1:`port`, with an optional body; no redirects followed. */
export function httpRequest(
    port: number,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: Buffer | string,
): Promise<HttpResult> {
    return new Promise((resolvePromise, reject) => {
        const req = request({ host: "127.0.0.1", port, path, method, headers, timeout: 15_000, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
        req.on("error", reject);
        req.end(body);
    });
}

/**
 * Starts a long-running app process (gunicorn or runserver) with the image's base environment
 * (cli/lib/appPython.ts) plus `env`, and waits until `GET readyPath` (sent with `host`) answers
 * 200. Stops it and throws, with its output, when it does not.
 */
export async function startAppServer(
    label: string,
    argv: readonly string[],
    options: { env: Record<string, string>; cwd?: string; port: number; host: string; readyPath: string },
): Promise<GroupProcess> {
    const [command, ...args] = argv;
    if (command === undefined) throw new Error(`${label}: empty command`);
    venvPython();
    const server = new GroupProcess(label, command, args, { cwd: options.cwd ?? APP_DIR, env: { ...imageBaseEnv(), ...options.env } });
    try {
        await waitFor(
            `${label} to answer ${options.readyPath}`,
            async () => (await httpGet(options.port, options.readyPath, { host: options.host })).status === 200,
            { timeoutMs: 30_000, process: server },
        );
    } catch (error) {
        await server.stop();
        throw error;
    }
    return server;
}
