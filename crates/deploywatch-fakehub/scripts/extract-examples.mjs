// Extracts the response examples that deploywatch-fakehub serves from GitHub's official
// OpenAPI description (npm package `@octokit/openapi`, pinned in package.json).
//
// Usage (from the repository root):
//   npm ci --prefix crates/deploywatch-fakehub/scripts
//   node crates/deploywatch-fakehub/scripts/extract-examples.mjs           # write the files
//   node crates/deploywatch-fakehub/scripts/extract-examples.mjs --check   # exit 1 if they differ
//
// Output: crates/deploywatch-fakehub/examples/<operationId>.json (pretty, keys sorted so the
// files are stable; an entry of OPERATIONS with an `output` name is written there instead), plus examples/schemas/basic-error.json (the properties of GitHub's error
// body: the description has a schema for it but no example) and examples/SOURCE.json (which
// package version and which example of which response each file came from).
//
// The fake never invents a response shape: it loads these files and only patches the values it
// must control. Regenerate them here whenever the pinned package version changes.

import { readFile, writeFile, mkdir, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, "..", "examples");
const require = createRequire(import.meta.url);

/**
 * The operations the fake serves (or may serve) and the status whose example it needs. An
 * operation whose response has several examples gets the one named `example` (else `default`,
 * else the first by name); one that needs two of them lists the second again with an `output`
 * name of its own, which is also its key in SOURCE.json (with `operation_id` saying whose it is).
 */
const OPERATIONS = [
  { operationId: "repos/get-branch", status: "200" },
  { operationId: "actions/list-workflow-runs-for-repo", status: "200" },
  { operationId: "actions/list-workflow-runs", status: "200" },
  { operationId: "actions/get-workflow-run", status: "200" },
  { operationId: "repos/list-deployments", status: "200" },
  { operationId: "repos/get-deployment", status: "200" },
  { operationId: "repos/list-deployment-statuses", status: "200" },
  { operationId: "repos/compare-commits-with-basehead", status: "200" },
  { operationId: "repos/get-commit", status: "200" },
  { operationId: "rate-limit/get", status: "200" },
  // Adding a repository by name: the repository, its environments, its workflows, a file.
  { operationId: "repos/get", status: "200" },
  { operationId: "repos/get-all-environments", status: "200" },
  { operationId: "actions/list-repo-workflows", status: "200" },
  // The examples of get-content are a file, a directory, a symlink and a submodule (for
  // `application/json`); the fake serves files, and a path naming a directory as GitHub does.
  { operationId: "repos/get-content", status: "200", example: "response-if-content-is-a-file" },
  {
    operationId: "repos/get-content",
    status: "200",
    example: "response-if-content-is-a-directory",
    output: "repos/get-content-directory",
  },
  // The two writes: what GitHub answers when a status is created.
  { operationId: "repos/create-commit-status", status: "201" },
  { operationId: "repos/create-deployment-status", status: "201" },
];

/**
 * Schemas without any example in the description whose property list the fake still needs:
 * GitHub's error body, and the body of a `422 Validation Failed` (the `validation_failed`
 * response of the write operations has a schema but no example).
 */
const SCHEMAS = ["basic-error", "validation-error"];

/** Resolves a local JSON reference such as `#/components/examples/branch-get`. */
function resolvePointer(spec, ref) {
  if (!ref.startsWith("#/")) {
    throw new Error(`unsupported (non-local) $ref: ${ref}`);
  }
  let node = spec;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !(key in node)) {
      throw new Error(`dangling $ref: ${ref}`);
    }
    node = node[key];
  }
  return node;
}

/** Follows `$ref` chains (a reference may point at another reference) until a real object. */
function deref(spec, node, seen = new Set()) {
  while (node && typeof node === "object" && typeof node.$ref === "string") {
    if (seen.has(node.$ref)) {
      throw new Error(`$ref cycle at ${node.$ref}`);
    }
    seen.add(node.$ref);
    node = resolvePointer(spec, node.$ref);
  }
  return node;
}

/**
 * Resolves every `$ref` inside an example value too, so the output is self-contained. Example
 * values are plain data in the current description, but a future version could reference
 * another example from inside one.
 */
function derefDeep(spec, node, stack = []) {
  if (Array.isArray(node)) {
    return node.map((item) => derefDeep(spec, item, stack));
  }
  if (node && typeof node === "object") {
    if (typeof node.$ref === "string") {
      if (stack.includes(node.$ref)) {
        throw new Error(`$ref cycle at ${node.$ref}`);
      }
      const target = resolvePointer(spec, node.$ref);
      // A reference to a components/examples entry stands for its value.
      const value = node.$ref.startsWith("#/components/examples/") ? target.value : target;
      return derefDeep(spec, value, [...stack, node.$ref]);
    }
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [key, derefDeep(spec, value, stack)]),
    );
  }
  return node;
}

/** Sorts object keys recursively so the files do not depend on insertion order. */
function sortKeys(node) {
  if (Array.isArray(node)) {
    return node.map(sortKeys);
  }
  if (node && typeof node === "object") {
    return Object.fromEntries(
      Object.keys(node)
        .sort()
        .map((key) => [key, sortKeys(node[key])]),
    );
  }
  return node;
}

/** `{ field -> allowed values }` for the enumerated properties of a JSON request body, if any. */
function requestEnums(spec, op) {
  const body = deref(spec, op.requestBody);
  const schema = deref(spec, body?.content?.["application/json"]?.schema);
  if (!schema?.properties) {
    return null;
  }
  const enums = Object.fromEntries(
    Object.entries(schema.properties)
      .map(([key, prop]) => [key, deref(spec, prop).enum])
      .filter(([, values]) => Array.isArray(values)),
  );
  return Object.keys(enums).length > 0 ? enums : null;
}

function findOperation(spec, operationId) {
  for (const [route, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (op && typeof op === "object" && op.operationId === operationId) {
        return { route, method: method.toUpperCase(), op };
      }
    }
  }
  throw new Error(`operation ${operationId} not found in the description`);
}

/** Returns `{ file -> text }` for every output file. */
function extract(spec, packageVersion) {
  const files = new Map();
  const source = {
    package: "@octokit/openapi",
    version: packageVersion,
    file: "generated/api.github.com.json",
    documentation_url: spec.externalDocs?.url ?? null,
    operations: {},
    schemas: {},
  };

  for (const { operationId, status, example: wanted, output } of OPERATIONS) {
    const { route, method, op } = findOperation(spec, operationId);
    const response = deref(spec, op.responses?.[status]);
    const media = response?.content?.["application/json"];
    const examples = media?.examples;
    if (!examples || Object.keys(examples).length === 0) {
      throw new Error(`${operationId} ${status}: no application/json examples`);
    }
    // The one asked for; else "default", what GitHub's docs show; else the first, by name.
    if (wanted !== undefined && !(wanted in examples)) {
      const names = Object.keys(examples).sort().join(", ");
      throw new Error(`${operationId} ${status}: no example named ${wanted} (has ${names})`);
    }
    const name =
      wanted ?? ("default" in examples ? "default" : Object.keys(examples).sort()[0]);
    const reference = examples[name];
    const example = deref(spec, reference);
    if (!example || !("value" in example)) {
      throw new Error(`${operationId} ${status}: example ${name} has no value`);
    }
    const value = sortKeys(derefDeep(spec, example.value));
    const key = output ?? operationId;
    if (key in source.operations) {
      throw new Error(`${key} is extracted twice; give one of them an output name`);
    }
    files.set(`${key}.json`, JSON.stringify(value, null, 2) + "\n");
    source.operations[key] = {
      ...(key === operationId ? {} : { operation_id: operationId }),
      method,
      path: route,
      status: Number(status),
      example: reference.$ref ?? `inline:${name}`,
      // GitHub's error bodies name this page in `documentation_url`.
      documentation_url: op.externalDocs?.url ?? null,
    };
    const enums = requestEnums(spec, op);
    if (enums) {
      // The values the request body's enumerated fields accept (e.g. a status `state`): the
      // fake validates requests against them instead of a list of its own.
      source.operations[key].request_enums = enums;
    }
  }

  for (const schemaName of SCHEMAS) {
    const schema = deref(spec, spec.components.schemas[schemaName]);
    if (!schema?.properties) {
      throw new Error(`schema ${schemaName} has no properties`);
    }
    const properties = Object.fromEntries(
      Object.entries(schema.properties).map(([key, prop]) => [key, deref(spec, prop).type ?? null]),
    );
    const described = { title: schema.title ?? schemaName, properties };
    // The properties of object items of array properties (the `errors` of a validation error).
    const itemProperties = Object.fromEntries(
      Object.entries(schema.properties)
        .map(([key, prop]) => [key, deref(spec, deref(spec, prop).items)?.properties])
        .filter(([, props]) => props && typeof props === "object")
        .map(([key, props]) => [
          key,
          Object.fromEntries(
            Object.entries(props).map(([name, p]) => [name, deref(spec, p).type ?? null]),
          ),
        ]),
    );
    if (Object.keys(itemProperties).length > 0) {
      described.item_properties = itemProperties;
    }
    files.set(
      `schemas/${schemaName}.json`,
      JSON.stringify(sortKeys(described), null, 2) + "\n",
    );
    source.schemas[schemaName] = `#/components/schemas/${schemaName}`;
  }

  files.set("SOURCE.json", JSON.stringify(sortKeys(source), null, 2) + "\n");
  return files;
}

async function listJson(dir, prefix = "") {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found = [];
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      found.push(...(await listJson(path.join(dir, entry.name), rel)));
    } else if (entry.name.endsWith(".json")) {
      found.push(rel);
    }
  }
  return found;
}

async function main() {
  const check = process.argv.includes("--check");
  const pkgJson = JSON.parse(
    await readFile(require.resolve("@octokit/openapi/package.json"), "utf8"),
  );
  const spec = JSON.parse(
    await readFile(require.resolve("@octokit/openapi/generated/api.github.com.json"), "utf8"),
  );
  const files = extract(spec, pkgJson.version);

  if (check) {
    const problems = [];
    for (const [rel, text] of files) {
      let current = null;
      try {
        current = await readFile(path.join(outDir, rel), "utf8");
      } catch {
        problems.push(`missing: examples/${rel}`);
        continue;
      }
      if (current !== text) {
        problems.push(`differs: examples/${rel}`);
      }
    }
    for (const rel of await listJson(outDir)) {
      if (!files.has(rel)) {
        problems.push(`not produced by the script: examples/${rel}`);
      }
    }
    if (problems.length > 0) {
      console.error(problems.join("\n"));
      console.error("run: node crates/deploywatch-fakehub/scripts/extract-examples.mjs");
      process.exit(1);
    }
    console.log(`ok: ${files.size} files match @octokit/openapi ${pkgJson.version}`);
    return;
  }

  for (const [rel, text] of files) {
    const target = path.join(outDir, rel);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
  }
  console.log(`wrote ${files.size} files from @octokit/openapi ${pkgJson.version} to ${outDir}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
