/**
 * Cloud Storage on this machine: fsouza/fake-gcs-server (a maintained GCS emulator, built by
 * maint/install-deps.sh with `go install`), behind a small front of ours that the app's processes
 * reach through `STORAGE_EMULATOR_HOST`.
 *
 * google-cloud-storage talks to `STORAGE_EMULATOR_HOST` instead of https://storage.googleapis.com
 * with no code change: the client takes it as its API endpoint and, when it was given no
 * credentials, uses anonymous ones (google/cloud/storage/client.py `Client.__init__`); a signed URL
 * without an explicit endpoint starts with the client's endpoint (google/cloud/storage/blob.py
 * `generate_signed_url`), so the links to uploads point here too.
 *
 * The front passes the JSON API through and adds what the emulator does not do:
 * - a V4 signed URL (`X-Goog-Signature`) is verified as Google documents it
 *   (https://cloud.google.com/storage/docs/authentication/signatures: canonical request, string to
 *   sign `GOOG4-RSA-SHA256`, RSA-SHA256 with the signing account's key, `X-Goog-Date` +
 *   `X-Goog-Expires`), with the public key of the account that signed it through the IAM stand-in,
 *   and only then served;
 * - an object of a bucket that `allUsers` may not read is refused without a valid signature (a
 *   private bucket with uniform bucket-level access), as Google answers `AccessDenied`.
 */
import { createHash, verify, type KeyObject } from "node:crypto";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { freePort, GroupProcess, waitFor } from "./processes";

/** The emulator's version that maint/install-deps.sh builds. */
export const FAKE_GCS_SERVER_VERSION = "v1.56.1";

/** Counters for the status table. */
export interface GcsStats {
    signedServed: number;
    readonly signedRefused: string[];
    privateRefused: number;
}

/** Looks up the public key a service account signs with. */
export type PublicKeyOf = (email: string) => Promise<KeyObject | undefined>;

const API_PREFIXES = ["/storage/v1/", "/upload/storage/v1/", "/download/storage/v1/", "/batch/storage/v1"];

/** RFC 3986 percent-encoding of everything but unreserved characters (Python's `quote(value, safe="~")`). */
function encode(text: string): string {
    return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Parses `YYYYMMDDTHHMMSSZ`. */
function parseGoogDate(text: string): number {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : NaN;
}

/** The outcome of checking a V4 signed URL. */
export type SignatureCheck = { readonly ok: true; readonly signer: string } | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * Verifies a V4 signed request: `method`, the raw `path` and query as received, and the Host
 * header. Follows https://cloud.google.com/storage/docs/authentication/canonical-requests.
 */
export async function checkV4Signature(method: string, rawUrl: string, host: string, publicKeyOf: PublicKeyOf, now = Date.now()): Promise<SignatureCheck> {
    const q = rawUrl.indexOf("?");
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const pairs = (q === -1 ? "" : rawUrl.slice(q + 1)).split("&").filter(Boolean).map((pair) => {
        const eq = pair.indexOf("=");
        const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, "%20"));
        return eq === -1 ? [decode(pair), ""] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
    }) as Array<[string, string]>;
    const params = new Map(pairs);
    const signature = params.get("X-Goog-Signature") ?? "";
    const credential = params.get("X-Goog-Credential") ?? "";
    const date = params.get("X-Goog-Date") ?? "";
    const expires = Number(params.get("X-Goog-Expires"));
    const signedHeaders = params.get("X-Goog-SignedHeaders") ?? "";
    if (params.get("X-Goog-Algorithm") !== "GOOG4-RSA-SHA256") return { ok: false, code: "InvalidArgument", message: "X-Goog-Algorithm must be GOOG4-RSA-SHA256" };
    const [signer = "", ...scopeParts] = credential.split("/");
    const scope = scopeParts.join("/");
    const issued = parseGoogDate(date);
    if (!Number.isFinite(issued) || !Number.isInteger(expires) || expires < 1 || expires > 604_800) return { ok: false, code: "InvalidArgument", message: "bad X-Goog-Date or X-Goog-Expires" };
    if (now > issued + expires * 1000) return { ok: false, code: "ExpiredToken", message: "Invalid argument. Request has expired." };
    if (now < issued - 15 * 60_000) return { ok: false, code: "InvalidArgument", message: "X-Goog-Date is in the future" };
    if (scope !== `${date.slice(0, 8)}/auto/storage/goog4_request`) return { ok: false, code: "InvalidArgument", message: `bad credential scope ${scope}` };
    const headers = signedHeaders.split(";");
    if (headers.length !== 1 || headers[0] !== "host") return { ok: false, code: "InvalidArgument", message: `only the host header is signed here, got ${signedHeaders}` };
    const canonicalQuery = pairs
        .filter(([name]) => name !== "X-Goog-Signature")
        .map(([name, value]) => `${encode(name)}=${encode(value)}`)
        .sort()
        .join("&");
    const canonicalRequest = [method, path, canonicalQuery, `host:${host.trim()}\n`, signedHeaders, "UNSIGNED-PAYLOAD"].join("\n");
    const stringToSign = ["GOOG4-RSA-SHA256", date, scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
    const key = await publicKeyOf(signer);
    if (!key) return { ok: false, code: "SignatureDoesNotMatch", message: `no key of ${signer} has signed anything here` };
    const valid = /^[0-9a-f]+$/.test(signature) && verify("sha256", Buffer.from(stringToSign), key, Buffer.from(signature, "hex"));
    return valid ? { ok: true, signer } : { ok: false, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the signature you provided." };
}

function xmlError(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { "Content-Type": "application/xml; charset=UTF-8" });
    res.end(`<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message.replace(/[<&>]/g, "")}</Message></Error>`);
}

/** fake-gcs-server and the front. */
export class LocalGcs {
    readonly stats: GcsStats = { signedServed: 0, signedRefused: [], privateRefused: 0 };
    /** Bucket name → readable by allUsers. */
    private readonly buckets = new Map<string, boolean>();

    private constructor(
        private readonly emulator: GroupProcess,
        private readonly emulatorPort: number,
        private readonly front: Server,
        /** The front's port: STORAGE_EMULATOR_HOST is http://127.0.0.1:<port>. */
        readonly port: number,
    ) {}

    /** Starts the emulator (`binary`) with an in-memory backend, and the front. */
    static async start(binary: string, publicKeyOf: PublicKeyOf, onOutput?: (text: string) => void): Promise<LocalGcs> {
        const [emulatorPort, frontPort] = await Promise.all([freePort(), freePort()]);
        const external = `http://127.0.0.1:${frontPort}`;
        const emulator = new GroupProcess("fake-gcs-server", binary, [
            "-scheme", "http", "-host", "127.0.0.1", "-port", String(emulatorPort), "-backend", "memory",
            // Upload session URLs and public links name the front, so everything goes through it.
            "-external-url", external, "-public-host", `127.0.0.1:${frontPort}`, "-log-level", "warn",
        ], { env: { PATH: "/usr/bin:/bin" }, onOutput });
        let gcs: LocalGcs | undefined;
        const front = createServer((req, res) => {
            void gcs?.handle(req, res, publicKeyOf).catch((error: unknown) => {
                if (!res.headersSent) xmlError(res, 500, "InternalError", String(error));
                else res.end();
            });
        });
        try {
            await new Promise<void>((resolve, reject) => {
                front.once("error", reject);
                front.listen(frontPort, "127.0.0.1", () => resolve());
            });
            gcs = new LocalGcs(emulator, emulatorPort, front, (front.address() as AddressInfo).port);
            await waitFor(`fake-gcs-server on 127.0.0.1:${emulatorPort}`, async () => (await forwardStatus(emulatorPort, "/storage/v1/b?project=local")) === 200, { process: emulator, timeoutMs: 15_000 });
            return gcs;
        } catch (error) {
            front.close();
            await emulator.stop();
            throw error;
        }
    }

    /** STORAGE_EMULATOR_HOST for the app's processes. */
    get url(): string {
        return `http://127.0.0.1:${this.port}`;
    }

    /** Creates `name` unless it exists; `publicRead`: objects readable by allUsers (IAM on the bucket). */
    async ensureBucket(name: string, publicRead: boolean): Promise<void> {
        this.buckets.set(name, publicRead);
        const body = JSON.stringify({ name });
        const status = await new Promise<number>((resolve, reject) => {
            const req = request({ host: "127.0.0.1", port: this.emulatorPort, method: "POST", path: "/storage/v1/b?project=local", headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode ?? 0));
            });
            req.on("error", reject);
            req.end(body);
        });
        if (status !== 200 && status !== 409) throw new Error(`fake-gcs-server: creating bucket ${name} answered ${status}`);
    }

    /** Names of the objects in a bucket (JSON API, all pages). */
    async list(bucket: string, prefix = ""): Promise<string[]> {
        const names: string[] = [];
        let pageToken = "";
        do {
            const path = `/storage/v1/b/${encodeURIComponent(bucket)}/o?prefix=${encodeURIComponent(prefix)}${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ""}`;
            const page = JSON.parse(await forwardText(this.emulatorPort, path)) as { items?: Array<{ name: string }>; nextPageToken?: string };
            names.push(...(page.items ?? []).map((i) => i.name));
            pageToken = page.nextPageToken ?? "";
        } while (pageToken);
        return names;
    }

    /** The emulator's output so far. */
    get log(): string {
        return this.emulator.log;
    }

    /** Stops the front and the emulator. */
    async close(): Promise<void> {
        this.front.closeAllConnections();
        await new Promise<void>((resolve) => this.front.close(() => resolve()));
        await this.emulator.stop("SIGTERM", 3_000);
    }

    private async handle(req: IncomingMessage, res: ServerResponse, publicKeyOf: PublicKeyOf): Promise<void> {
        const url = req.url ?? "/";
        if (API_PREFIXES.some((prefix) => url.startsWith(prefix)) || (req.method !== "GET" && req.method !== "HEAD")) {
            return this.forward(req, res, url);
        }
        const bucket = decodeURIComponent(url.split("?")[0]?.split("/")[1] ?? "");
        if (url.includes("X-Goog-Signature=")) {
            const check = await checkV4Signature(req.method ?? "GET", url, req.headers.host ?? "", publicKeyOf);
            if (!check.ok) {
                this.stats.signedRefused.push(`${check.code}: ${url.split("?")[0]}`);
                return xmlError(res, check.code === "ExpiredToken" ? 400 : 403, check.code, check.message);
            }
            this.stats.signedServed += 1;
            return this.forward(req, res, url.split("?")[0] as string);
        }
        if (this.buckets.get(bucket) !== true) {
            this.stats.privateRefused += 1;
            return xmlError(res, 403, "AccessDenied", `Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object. (${bucket} is not public)`);
        }
        return this.forward(req, res, url);
    }

    private forward(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
        return new Promise((resolve) => {
            // fake-gcs-server serves path-style object URLs on its -public-host: the front's own host.
            const headers = { ...req.headers, host: `127.0.0.1:${this.port}` };
            const upstream = request({ host: "127.0.0.1", port: this.emulatorPort, method: req.method, path, headers }, (answer) => {
                const out = { ...answer.headers };
                // Upload session URLs name the emulator's external URL (the front) already.
                res.writeHead(answer.statusCode ?? 502, out);
                answer.pipe(res);
                answer.on("end", () => resolve());
            });
            upstream.on("error", (error) => {
                if (!res.headersSent) xmlError(res, 502, "BadGateway", String(error));
                else res.end();
                resolve();
            });
            req.pipe(upstream);
        });
    }
}

function forwardText(port: number, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString("utf8")) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
        });
        req.on("error", reject);
        req.end();
    });
}

function forwardStatus(port: number, path: string): Promise<number> {
    return new Promise((resolve) => {
        const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 1_000 }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("error", () => resolve(0));
        req.on("timeout", () => req.destroy());
        req.end();
    });
}
