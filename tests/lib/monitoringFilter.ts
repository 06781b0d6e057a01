/**
 * A small evaluator of Cloud Monitoring time series filters: the subset the platform renders, so
 * tests can tell which time series a rendered alert or chart would read.
 *
 * Semantics from https://cloud.google.com/monitoring/api/v3/filters:
 * - comparisons joined by `AND` (all must hold);
 * - selectors `resource.type`, `metric.type`, `resource.label.<key>` / `resource.labels.<key>`,
 *   `metric.label.<key>` / `metric.labels.<key>`; a label the series lacks compares as absent;
 * - `=` and `!=`; values are double-quoted strings, or bare numbers and words
 *   (`response_code_class=500`), compared as strings;
 * - `monitoring.regex.full_match("RE2")` (the whole value must match) and `starts_with("prefix")`.
 *
 * Anything else (OR, NOT, parentheses, `:`, `has_substring`, other functions) is refused with an
 * error instead of being guessed, so a filter the evaluator cannot read fails the test. Regular
 * expressions are run with JavaScript's engine after checking they use only constructs that RE2
 * and JavaScript read alike (literals, classes, `{m,n}`, `? * +`, `.`, `|`, groups).
 */

/** One time series' identity: its resource and metric types and labels. */
export interface SeriesLabels {
    readonly resourceType: string;
    readonly metricType: string;
    readonly resourceLabels?: Readonly<Record<string, string>>;
    readonly metricLabels?: Readonly<Record<string, string>>;
}

type Matcher = (value: string | undefined) => boolean;
interface Comparison {
    readonly selector: string;
    readonly negated: boolean;
    readonly match: Matcher;
}

/** Regex constructs RE2 and JavaScript read the same way (no lookaround, backreferences, flags or escapes). */
const PORTABLE_REGEX = /^[A-Za-z0-9_\-.:/@[\]{}(),|?*+^$]*$/;

function fail(filter: string, at: number, why: string): never {
    throw new Error(`monitoring filter: ${why} at ${at} in ${JSON.stringify(filter)}`);
}

/** Parses a filter into its comparisons. */
export function parseFilter(filter: string): Comparison[] {
    let i = 0;
    const spaces = () => {
        while (i < filter.length && /\s/.test(filter[i])) i++;
    };
    const string = (): string => {
        if (filter[i] !== '"') fail(filter, i, "expected a double-quoted string");
        let out = "";
        i++;
        while (i < filter.length && filter[i] !== '"') {
            if (filter[i] === "\\") {
                i++;
            }
            out += filter[i++];
        }
        if (filter[i] !== '"') fail(filter, i, "unterminated string");
        i++;
        return out;
    };
    const call = (name: string): string => {
        i += name.length;
        if (filter[i] !== "(") fail(filter, i, `expected ( after ${name}`);
        i++;
        spaces();
        const arg = string();
        spaces();
        if (filter[i] !== ")") fail(filter, i, `expected ) closing ${name}`);
        i++;
        return arg;
    };
    const comparisons: Comparison[] = [];
    for (;;) {
        spaces();
        const sel = /^(resource\.type|metric\.type|(?:resource|metric)\.labels?\.[a-z_][a-z0-9_]*)/.exec(filter.slice(i));
        if (!sel) fail(filter, i, "expected resource.type, metric.type or a resource/metric label");
        i += sel[0].length;
        spaces();
        const op = /^(!=|=)/.exec(filter.slice(i));
        if (!op) fail(filter, i, "expected = or !=");
        i += op[0].length;
        spaces();
        let match: Matcher;
        if (filter.startsWith("monitoring.regex.full_match", i)) {
            const pattern = call("monitoring.regex.full_match");
            if (!PORTABLE_REGEX.test(pattern)) fail(filter, i, `regex ${JSON.stringify(pattern)} uses constructs this evaluator does not model`);
            const re = new RegExp(`^(?:${pattern})$`);
            match = (v) => v !== undefined && re.test(v);
        } else if (filter.startsWith("starts_with", i)) {
            const prefix = call("starts_with");
            match = (v) => v !== undefined && v.startsWith(prefix);
        } else if (filter[i] === '"') {
            const literal = string();
            match = (v) => v === literal;
        } else {
            const bare = /^[A-Za-z0-9_.-]+/.exec(filter.slice(i));
            if (!bare || bare[0] === "AND" || bare[0] === "OR" || bare[0] === "NOT") fail(filter, i, "expected a value");
            i += bare[0].length;
            if (filter[i] === "(") fail(filter, i, `function ${bare[0]} is not modelled`);
            const literal = bare[0];
            match = (v) => v === literal;
        }
        comparisons.push({ selector: sel[0].replace(/\.labels\./, ".label."), negated: op[0] === "!=", match });
        spaces();
        if (i >= filter.length) return comparisons;
        if (!filter.startsWith("AND", i) || !/\s/.test(filter[i + 3] ?? "")) fail(filter, i, "expected AND (the only operator modelled)");
        i += 3;
    }
}

function valueOf(series: SeriesLabels, selector: string): string | undefined {
    if (selector === "resource.type") return series.resourceType;
    if (selector === "metric.type") return series.metricType;
    const [scope, , key] = selector.split(".");
    return (scope === "resource" ? series.resourceLabels : series.metricLabels)?.[key];
}

/** Whether `filter` selects the time series `series`. */
export function filterMatches(filter: string, series: SeriesLabels): boolean {
    return parseFilter(filter).every((c) => c.match(valueOf(series, c.selector)) !== c.negated);
}
