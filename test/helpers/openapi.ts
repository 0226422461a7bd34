/**
 * Checks Baton's HTTP answers against the OpenAPI document Baton serves (GET /api/openapi.json):
 * the status must be one the operation documents, the content type one it lists, and a JSON body
 * must match the schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses, formats checked). A path
 * the document does not have must answer the Error shape. A mismatch throws, failing the test.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import type { OpenApiDocument } from '../../src/api/openapi.js';

export interface Answer {
  status: number;
  json: unknown;
  headers: Headers;
}

type ResponseObject = { $ref?: string; content?: Record<string, { schema: unknown }> };
type Operation = { responses: Record<string, ResponseObject> };

// ajv-formats is CommonJS: under ESM its plugin is the default export's default.
const addFormats = ((formatsPlugin as unknown as { default?: typeof formatsPlugin }).default ?? formatsPlugin) as unknown as (ajv: Ajv2020) => void;

export class ResponseChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes: { template: string; pattern: RegExp }[];

  constructor(readonly document: OpenApiDocument) {
    addFormats(this.ajv);
    this.routes = Object.keys(document.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  }

  /** Throws when `answer` to `method path` is not one the document describes. */
  check(method: string, path: string, answer: Answer): void {
    const where = `${method} ${path} → ${answer.status}`;
    const bare = path.split('?')[0]!;
    const route = this.routes.find((r) => r.pattern.test(bare));
    const operation = route ? (this.document.paths[route.template]![method.toLowerCase()] as Operation | undefined) : undefined;
    if (!route || !operation) {
      // Not an operation of the API: Express's 404 (or the token check before it), in the error shape.
      if (answer.status !== 404 && answer.status !== 401) throw new Error(`${where}: not in the OpenAPI document, yet not a 404`);
      return this.validate(`${where} (no such operation)`, { $ref: '#/components/schemas/Error' }, answer.json);
    }
    let response = operation.responses[String(answer.status)];
    if (!response) throw new Error(`${where}: status ${answer.status} is not documented for ${method.toUpperCase()} ${route.template} (documented: ${Object.keys(operation.responses).join(', ')})`);
    if (response.$ref) response = this.document.components.responses[response.$ref.split('/').pop()!] as ResponseObject;
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const content = response.content?.[type];
    if (!content) throw new Error(`${where}: content type "${type}" is not documented (documented: ${Object.keys(response.content ?? {}).join(', ') || 'no body'})`);
    if (type === 'application/json') this.validate(where, content.schema, answer.json);
    else if (typeof answer.json !== 'string') throw new Error(`${where}: a ${type} body should be text`);
  }

  private validate(where: string, schema: unknown, body: unknown): void {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      // The response schema as root, the document's components beside it, so "#/components/…" resolves.
      validate = this.ajv.compile({ ...(schema as object), components: this.document.components });
      this.compiled.set(key, validate);
    }
    if (!validate(body)) {
      const errors = (validate.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
      throw new Error(`${where}: the body does not match the OpenAPI document:\n  ${errors.join('\n  ')}\nbody: ${JSON.stringify(body).slice(0, 600)}`);
    }
  }
}
