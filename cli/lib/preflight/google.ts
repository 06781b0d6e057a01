/**
 * A small client for Google's REST APIs on Node's own `fetch`: no SDK, one bearer token, JSON in
 * and out. It never retries a write and only ever issues the requests the checks ask for.
 *
 * `DJANGO_PLATFORM_GOOGLE_API_BASE` (tests, local fakes) sends every request for
 * `https://<host>/<path>` to `<base>/<host>/<path>` instead. Plain `http://` is accepted for loopback
 * addresses only, so a token can never travel unencrypted over a network.
 *
 * Errors Google answers with follow https://cloud.google.com/apis/design/errors: a JSON body
 * `{"error": {"code", "message", "status", "details": [{"@type": "…ErrorInfo", "reason": …}]}}`.
 */

/** The environment variable that redirects every Google API request (tests). */
export const API_BASE_ENV = "DJANGO_PLATFORM_GOOGLE_API_BASE";

/** The token was refused (HTTP 401), or could not be obtained: exit 3. */
export class AuthError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "AuthError";
    }
}

/** Google could not be reached, or kept failing (network error, timeout, 5xx, 429): exit 3. */
export class UnreachableError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UnreachableError";
    }
}

/** `DJANGO_PLATFORM_GOOGLE_API_BASE` is unusable: exit 2. */
export class ApiBaseError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ApiBaseError";
    }
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

function isLoopback(hostname: string): boolean {
    return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname.endsWith(".localhost");
}

/**
 * Validates an API base URL: `https://…` anywhere, `http://…` on loopback only, no query or
 * fragment. Returns it without a trailing slash.
 * @throws ApiBaseError otherwise.
 */
export function checkApiBase(base: string): string {
    let url: URL;
    try {
        url = new URL(base);
    } catch {
        throw new ApiBaseError(`${API_BASE_ENV}=${base} is not a URL. Fix: unset it, or set it to http://127.0.0.1:<port> (a local fake) or an https:// URL.`);
    }
    if (url.protocol === "http:" && !isLoopback(url.hostname)) {
        throw new ApiBaseError(
            `${API_BASE_ENV}=${base} is refused: plain http is allowed only to a loopback address (127.0.0.1, ::1, localhost), because the request carries your Google access token. Fix: use https://, or unset ${API_BASE_ENV}.`,
        );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new ApiBaseError(`${API_BASE_ENV}=${base} is refused: only http (loopback) and https URLs are accepted. Fix: unset ${API_BASE_ENV}.`);
    }
    if (url.search || url.hash) {
        throw new ApiBaseError(`${API_BASE_ENV}=${base} must not have a query or fragment. Fix: set it to the scheme, host and port only.`);
    }
    return base.replace(/\/+$/, "");
}

/** Where a request for a Google URL really goes: unchanged, or `<base>/<host>/<path>`. */
export function rewriteUrl(url: string, base: string | undefined): string {
    if (!base) {
        return url;
    }
    const parsed = new URL(url);
    if (parsed.protocol !== "https:") {
        throw new Error(`not a Google API URL: ${url}`);
    }
    return `${base}/${parsed.host}${parsed.pathname}${parsed.search}`;
}

/** Google's error body, when there is one. */
export interface GoogleErrorBody {
    readonly code?: number;
    readonly message?: string;
    readonly status?: string;
    readonly details?: readonly { readonly "@type"?: string; readonly reason?: string; readonly metadata?: Record<string, string> }[];
}

/** One answer: status and parsed JSON (undefined when the body is empty or not JSON). */
export interface GoogleResponse<T = unknown> {
    readonly status: number;
    readonly ok: boolean;
    readonly body: T;
    /** `error` of a failed answer. */
    readonly error?: GoogleErrorBody;
    readonly method: string;
    readonly url: string;
}

/** The `ErrorInfo.reason` of an error (`SERVICE_DISABLED`, `IAM_PERMISSION_DENIED`, …). */
export function errorReason(res: GoogleResponse): string | undefined {
    return res.error?.details?.find((d) => d.reason)?.reason;
}

/** The API a `SERVICE_DISABLED` error names (`metadata.service`), when it does. */
export function disabledService(res: GoogleResponse): string | undefined {
    if (errorReason(res) !== "SERVICE_DISABLED") {
        return undefined;
    }
    return res.error?.details?.find((d) => d.metadata?.service)?.metadata?.service ?? "the API";
}

/**
 * The permission an `IAM_PERMISSION_DENIED` error names (`ErrorInfo.metadata.permission`), when it
 * names one (https://cloud.google.com/apis/design/errors#error_info).
 */
export function deniedPermission(res: GoogleResponse): string | undefined {
    return res.error?.details?.find((d) => d.metadata?.permission)?.metadata?.permission;
}

/** A one-line description of a failed answer: `HTTP 403 PERMISSION_DENIED: message`. */
export function describeError(res: GoogleResponse): string {
    const message = (res.error?.message ?? "").split("\n")[0].slice(0, 300);
    return `HTTP ${res.status}${res.error?.status ? ` ${res.error.status}` : ""}${message ? `: ${message}` : ""}`;
}

/** Options of {@link GoogleClient}. */
export interface GoogleClientOptions {
    /** Validated API base (see {@link checkApiBase}); undefined for Google itself. */
    readonly base?: string;
    /** Sent as `x-goog-user-project` (the project billed for quota), when set. */
    readonly quotaProject?: string;
    /** Per-request timeout. @default 30 s */
    readonly timeoutMs?: number;
    readonly fetch?: typeof fetch;
}

/** Requests to Google with one bearer token. */
export class GoogleClient {
    private readonly fetchFn: typeof fetch;

    constructor(
        private readonly token: string,
        private readonly options: GoogleClientOptions = {},
    ) {
        this.fetchFn = options.fetch ?? fetch;
    }

    /** The same client with another token (an impersonated service account's). */
    withToken(token: string): GoogleClient {
        return new GoogleClient(token, this.options);
    }

    /** GET a Google URL; `query` values that are arrays repeat the parameter. */
    get<T>(url: string, query?: Record<string, string | readonly string[]>): Promise<GoogleResponse<T>> {
        return this.request<T>("GET", url, { query });
    }

    /** POST JSON to a Google URL. */
    post<T>(url: string, body: unknown): Promise<GoogleResponse<T>> {
        return this.request<T>("POST", url, { body });
    }

    /**
     * One request. A 401 throws {@link AuthError}; a network failure, a timeout or a second 5xx/429
     * throws {@link UnreachableError}; any other status is returned for the caller to judge. A
     * GET (read-only) that answers 5xx or 429 is tried once more after a short pause; a POST never.
     */
    async request<T>(method: "GET" | "POST", url: string, opts: { query?: Record<string, string | readonly string[]>; body?: unknown } = {}): Promise<GoogleResponse<T>> {
        const target = new URL(url);
        for (const [key, value] of Object.entries(opts.query ?? {})) {
            for (const v of typeof value === "string" ? [value] : value) {
                target.searchParams.append(key, v);
            }
        }
        const finalUrl = rewriteUrl(target.toString(), this.options.base);
        const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: "application/json" };
        if (opts.body !== undefined) {
            headers["content-type"] = "application/json";
        }
        if (this.options.quotaProject) {
            headers["x-goog-user-project"] = this.options.quotaProject;
        }
        const shown = `${method} ${target.origin}${target.pathname}`;
        for (let attempt = 1; ; attempt++) {
            let response: Response;
            let text: string;
            try {
                response = await this.fetchFn(finalUrl, {
                    method,
                    headers,
                    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
                    signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
                });
                text = await response.text();
            } catch (err) {
                const cause = (err as { cause?: { code?: string; message?: string } }).cause;
                throw new UnreachableError(`${shown}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
            }
            let body: unknown;
            try {
                body = text ? JSON.parse(text) : undefined;
            } catch {
                body = undefined;
            }
            const error = (body as { error?: GoogleErrorBody } | undefined)?.error;
            const result: GoogleResponse<T> = {
                status: response.status,
                ok: response.ok,
                body: body as T,
                error: typeof error === "object" ? error : undefined,
                method,
                url: `${target.origin}${target.pathname}`,
            };
            if (response.status === 401) {
                throw new AuthError(`Google refused the access token (${describeError(result)} on ${shown})`);
            }
            if (response.status >= 500 || response.status === 429) {
                if (method === "GET" && attempt === 1) {
                    await new Promise((resolve) => setTimeout(resolve, 500));
                    continue;
                }
                throw new UnreachableError(`${shown}: ${describeError(result)}`);
            }
            return result;
        }
    }
}

/** Splits `items` into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) {
        out.push(items.slice(i, i + size));
    }
    return out;
}
