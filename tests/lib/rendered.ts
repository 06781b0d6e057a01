/**
 * Reading what the platform renders, for the tests: navigates manifests.yaml the way Kubernetes
 * would. The navigation itself (envFrom →
 * ConfigMap/Secret, env with the downward API, `$(VAR)` expansion, every Django container) lives in
 * cli/lib/renderedWorkloads.ts, which tools share; it is re-exported here.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";

export {
  argv,
  byComponent,
  byName,
  container,
  containerEnv,
  expandKubernetesVars,
  parseManifests,
  podSpec,
  secretValues,
  type Container,
  type EnvSource,
  type HttpProbe,
  type K8sDoc,
  type PodSpec,
} from "../../cli/lib/renderedWorkloads";

/** The repository root. */
export const REPO = resolve(__dirname, "..", "..");

/** Names of the user's extra variables declared in a stack file (`appEnv`/`appSecrets` keys). */
export function declaredExtras(stackFile: string): { plain: string[]; secret: string[] } {
  const config = ((parse(readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
  const names = (key: string): string[] => {
    const value = config[`django-platform:${key}`];
    if (value === undefined || value === null) return [];
    if (typeof value !== "object" || Array.isArray(value) || "secure" in value) {
      throw new Error(
        `${stackFile}: django-platform:${key} must be a map of names (set entries with \`pulumi config set --path ${key}.NAME\`), ` +
          "so the contract test can tell the user's extras from the platform's variables",
      );
    }
    return Object.keys(value);
  };
  return { plain: names("appEnv"), secret: names("appSecrets") };
}
