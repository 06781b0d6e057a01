/**
 * Running rendered stacks with the local runner (cli/lib/local/) in the tests: one set of shared
 * services per test file, one stack after the other, and a browser-like client for the site.
 */
import { join } from "node:path";
import { findBinaries } from "../../cli/lib/local/binaries";
import { httpRequest, type HttpResult } from "../../cli/lib/local/http";
import { renderStack, type RenderedStack } from "../../cli/lib/local/render";
import { LocalRun, type LocalRunOptions } from "../../cli/lib/local/run";
import { LocalServices } from "../../cli/lib/local/services";
import type { K8sDoc } from "../../cli/lib/renderedWorkloads";
import { stackConfig, withoutStackTraces, type Overrides } from "../helpers/platform";

/** Starts the shared services (throws naming what is missing). */
export async function startServices(): Promise<LocalServices> {
  const found = findBinaries();
  if (!found.binaries) throw new Error(`the local runner cannot start here:\n${found.problems.join("\n")}`);
  // The app containers mount an emptyDir at /tmp: the run directory must not be under it.
  return LocalServices.start({ fakeGcsServer: found.binaries.fakeGcsServer, avoid: ["/tmp"] });
}

/** Renders a shipped stack with config overrides (as tests/helpers/platform.ts merges them). */
export async function render(stack: "staging" | "production", overrides: Overrides = {}): Promise<RenderedStack> {
  const { config } = stackConfig(stack, overrides);
  return withoutStackTraces(() => renderStack({ stack, config }));
}

/** Options of {@link startStack}. */
export interface StartOptions extends Partial<Omit<LocalRunOptions, "services" | "docs" | "iam">> {
  /** Changes the rendered objects before the run (a broken variant). */
  readonly mutate?: (docs: K8sDoc[]) => void;
}

/** Runs a rendered stack on `services` (site on a free port, lighter stop unless asked otherwise). */
export async function startStack(services: LocalServices, stack: RenderedStack, options: StartOptions = {}): Promise<LocalRun> {
  const docs: K8sDoc[] = JSON.parse(JSON.stringify(stack.docs)) as K8sDoc[];
  options.mutate?.(docs);
  const found = findBinaries();
  return LocalRun.start({
    services,
    docs,
    iam: stack.iam,
    appDir: options.appDir ?? join(__dirname, "..", "..", "app"),
    python: found.binaries?.python ?? "python3",
    sitePort: options.sitePort ?? 0,
    fastStop: options.fastStop ?? true,
    ...options,
  });
}

/** A failure list as a readable message. */
export function describeFailures(run: LocalRun): string {
  return run.failures.map((f) => `${f.workload} (${f.command}): ${f.reason}\n  ${f.lastLines.join("\n  ")}`).join("\n\n");
}

/**
 * A browser on the site's local address: keeps cookies, sends Origin/Referer as a browser on
 * http://127.0.0.1:<port> would.
 */
export class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(readonly port: number) {}

  private get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private remember(result: HttpResult): HttpResult {
    const raw = result.headers["set-cookie"];
    for (const line of raw === undefined ? [] : [raw].flat()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return result;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    return { host: `127.0.0.1:${this.port}`, ...(cookie ? { cookie } : {}), ...extra };
  }

  /** The value of a cookie the site set. */
  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  async get(path: string): Promise<HttpResult> {
    return this.remember(await httpRequest(this.port, "GET", path, this.headers()));
  }

  /** GETs `formPath` for the CSRF cookie, then POSTs `body` to `postPath` as a form would. */
  async post(formPath: string, postPath: string, form: { body: Buffer | string; contentType: string }): Promise<HttpResult> {
    await this.get(formPath);
    const token = this.cookies.get("csrftoken");
    if (!token) throw new Error(`GET ${formPath} set no csrftoken cookie`);
    const body = typeof form.body === "string" ? Buffer.from(form.body) : form.body;
    return this.remember(
      await httpRequest(this.port, "POST", postPath, this.headers({
        "x-csrftoken": token,
        origin: this.origin,
        referer: `${this.origin}${formPath}`,
        "content-type": form.contentType,
        "content-length": String(body.length),
      }), body),
    );
  }
}
