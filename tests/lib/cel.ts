/**
 * A small evaluator of exactly the CEL the project renders: Workload Identity Federation attribute
 * conditions and mappings (`assertion.<claim>`, `has()`), and IAM conditions (`resource.name`,
 * `resource.type`, `resource.service`, `api.getAttribute(...)`, `.startsWith()`, `.endsWith()`,
 * `.extract()`, `.hasOnly()`).
 *
 * Semantics kept from CEL (https://github.com/google/cel-spec/blob/master/doc/langdef.md) where it
 * matters here: reading a field the map lacks is an error ("no such key"), `has()` is not; `? :`
 * evaluates one branch; `&&`/`||` short-circuit, and an error on one side is absorbed when the
 * other side decides the result (CEL's commutative logical operators); operands must have the
 * right type (`+` on strings, `!` and `? :` on booleans), or it is a "no such overload" error.
 * `extract` follows Google's IAM Conditions reference: the text between the template's literal
 * prefix and suffix, or "" when the string does not match.
 */

/** A CEL value of this subset. */
export type CelValue = string | boolean | readonly CelValue[] | { readonly [key: string]: CelValue };

/** A CEL evaluation error (no such key, no such overload), as the real evaluators raise. */
export class CelError extends Error {}

/** The variables an expression may read: `assertion`, `resource`, `api` attributes. */
export interface CelActivation {
    readonly assertion?: Readonly<Record<string, string>>;
    readonly resource?: { readonly name: string; readonly type: string; readonly service: string };
    /** `api.getAttribute(name, default)` answers. */
    readonly apiAttributes?: Readonly<Record<string, CelValue>>;
}

type Node = (env: CelActivation) => CelValue;

const isString = (v: CelValue): v is string => typeof v === "string";

function bool(v: CelValue): boolean {
    if (typeof v !== "boolean") {
        throw new CelError(`no such overload: boolean expected, got ${JSON.stringify(v)}`);
    }
    return v;
}

function str(v: CelValue): string {
    if (!isString(v)) {
        throw new CelError(`no such overload: string expected, got ${JSON.stringify(v)}`);
    }
    return v;
}

function list(v: CelValue): readonly CelValue[] {
    if (!Array.isArray(v)) {
        throw new CelError(`no such overload: list expected, got ${JSON.stringify(v)}`);
    }
    return v;
}

/** `extract` of IAM Conditions: `'/keyRings/{ring}/'` on `…/keyRings/abc/cryptoKeys/k` is `abc`. */
export function extract(value: string, template: string): string {
    const match = /^(.*)\{[A-Za-z_][A-Za-z0-9_]*\}(.*)$/.exec(template);
    if (!match) {
        throw new CelError(`extract: template ${template} names no {variable}`);
    }
    const [, prefix, suffix] = match;
    const start = value.indexOf(prefix);
    if (start < 0) {
        return "";
    }
    const rest = value.slice(start + prefix.length);
    if (suffix === "") {
        return rest;
    }
    const end = rest.indexOf(suffix);
    return end < 0 ? "" : rest.slice(0, end);
}

/** Values equal in CEL's sense for this subset (strings, booleans, lists). */
function equal(a: CelValue, b: CelValue): boolean {
    if (Array.isArray(a) && Array.isArray(b)) {
        return a.length === b.length && a.every((x, i) => equal(x, b[i]));
    }
    if (typeof a !== typeof b) {
        throw new CelError(`no such overload: ${JSON.stringify(a)} == ${JSON.stringify(b)}`);
    }
    return a === b;
}

/** Parses `expression` once; the result evaluates it against any activation. */
export function compileCel(expression: string): (env: CelActivation) => CelValue {
    const tokens: string[] = [];
    const lexer = /\s*(?:('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(==|!=|&&|\|\||[?:()+.!,[\]])|([A-Za-z_][A-Za-z0-9_]*))/y;
    const end = expression.trimEnd().length;
    while (lexer.lastIndex < end) {
        const at = lexer.lastIndex;
        const m = lexer.exec(expression);
        if (!m) {
            throw new Error(`cannot read CEL at ${at}: ${expression.slice(at, at + 30)}`);
        }
        tokens.push(m[1] ?? m[2] ?? m[3]);
    }
    let i = 0;
    const peek = () => tokens[i];
    const next = () => tokens[i++];
    const expect = (t: string) => {
        if (next() !== t) {
            throw new Error(`expected ${t} at token ${i - 1} of ${expression}`);
        }
    };

    const ternary = (): Node => {
        const cond = or();
        if (peek() !== "?") {
            return cond;
        }
        next();
        const then = ternary();
        expect(":");
        const otherwise = ternary();
        return (env) => (bool(cond(env)) ? then(env) : otherwise(env));
    };
    /** CEL's `||`/`&&`: an error on one side is absorbed when the other side decides. */
    const logical = (l: Node, r: Node, decides: boolean): Node => (env) => {
        let leftError: unknown;
        try {
            if (bool(l(env)) === decides) {
                return decides;
            }
        } catch (err) {
            leftError = err;
        }
        const right = bool(r(env));
        if (right === decides) {
            return decides;
        }
        if (leftError) {
            throw leftError;
        }
        return !decides;
    };
    const or = (): Node => {
        let left = and();
        while (peek() === "||") {
            next();
            left = logical(left, and(), true);
        }
        return left;
    };
    const and = (): Node => {
        let left = equality();
        while (peek() === "&&") {
            next();
            left = logical(left, equality(), false);
        }
        return left;
    };
    const equality = (): Node => {
        let left = sum();
        while (peek() === "==" || peek() === "!=") {
            const op = next();
            const [l, r] = [left, sum()];
            left = op === "==" ? (env) => equal(l(env), r(env)) : (env) => !equal(l(env), r(env));
        }
        return left;
    };
    const sum = (): Node => {
        let left = unary();
        while (peek() === "+") {
            next();
            const [l, r] = [left, unary()];
            left = (env) => str(l(env)) + str(r(env));
        }
        return left;
    };
    const unary = (): Node => {
        if (peek() === "!") {
            next();
            const operand = unary();
            return (env) => !bool(operand(env));
        }
        return postfix();
    };
    /** Method calls on a value: `.startsWith(x)`, `.endsWith(x)`, `.extract(t)`, `.hasOnly(list)`. */
    const postfix = (): Node => {
        let target = primary();
        while (peek() === ".") {
            next();
            const method = next();
            expect("(");
            const arg = ternary();
            expect(")");
            const on = target;
            switch (method) {
                case "startsWith":
                    target = (env) => str(on(env)).startsWith(str(arg(env)));
                    break;
                case "endsWith":
                    target = (env) => str(on(env)).endsWith(str(arg(env)));
                    break;
                case "extract":
                    target = (env) => extract(str(on(env)), str(arg(env)));
                    break;
                case "hasOnly":
                    target = (env) => {
                        const allowed = list(arg(env));
                        return list(on(env)).every((v) => allowed.some((a) => equal(a, v)));
                    };
                    break;
                default:
                    throw new Error(`unsupported method ${method} in ${expression}`);
            }
        }
        return target;
    };
    /** `assertion.<claim>` / `resource.<attribute>`: a missing claim is CEL's "no such key". */
    const field = (variable: string): Node => {
        expect(".");
        const name = next();
        return (env) => {
            const map: Readonly<Record<string, CelValue>> | undefined = variable === "assertion" ? env.assertion : (env.resource as Record<string, string> | undefined);
            if (!map || !Object.hasOwn(map, name)) {
                throw new CelError(`no such key: ${variable}.${name}`);
            }
            return map[name];
        };
    };
    const primary = (): Node => {
        const t = peek();
        if (t?.startsWith("'") || t?.startsWith('"')) {
            next();
            const value = t.slice(1, -1).replace(/\\(.)/g, "$1");
            return () => value;
        }
        if (t === "(") {
            next();
            const inner = ternary();
            expect(")");
            return inner;
        }
        if (t === "[") {
            next();
            const items: Node[] = [];
            while (peek() !== "]") {
                items.push(ternary());
                if (peek() === ",") {
                    next();
                }
            }
            expect("]");
            return (env) => items.map((n) => n(env));
        }
        if (t === "true" || t === "false") {
            next();
            return () => t === "true";
        }
        if (t === "has") {
            next();
            expect("(");
            const variable = next();
            expect(".");
            const name = next();
            expect(")");
            return (env) => {
                const map = variable === "assertion" ? env.assertion : (env.resource as Record<string, string> | undefined);
                return map !== undefined && Object.hasOwn(map, name);
            };
        }
        if (t === "api") {
            next();
            expect(".");
            if (next() !== "getAttribute") {
                throw new Error(`only api.getAttribute is supported in ${expression}`);
            }
            expect("(");
            const name = ternary();
            expect(",");
            const fallback = ternary();
            expect(")");
            return (env) => {
                const key = str(name(env));
                return env.apiAttributes && Object.hasOwn(env.apiAttributes, key) ? env.apiAttributes[key] : fallback(env);
            };
        }
        if (t === "assertion" || t === "resource") {
            next();
            return field(t);
        }
        throw new Error(`unexpected ${String(t)} in ${expression}`);
    };
    const root = ternary();
    if (i !== tokens.length) {
        throw new Error(`unexpected ${tokens[i]} in ${expression}`);
    }
    return root;
}

/** Evaluates `expression` once. */
export function evalCel(expression: string, env: CelActivation): CelValue {
    return compileCel(expression)(env);
}
