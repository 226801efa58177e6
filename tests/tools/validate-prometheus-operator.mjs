// Validates Prometheus Operator objects (ServiceMonitor, PrometheusRule, ...)
// against the schemas of the Operator's API types, as generated into the npm
// package @kubernetes-models/prometheus-operator (which scripts/test
// installs).
//
//   node validate-prometheus-operator.mjs PACKAGE_DIR < objects.json
//
// PACKAGE_DIR is the package's directory; stdin is a JSON array of objects.
// Prints one line per invalid object and exits 1 if there is any; an object
// of a kind the package has no schema for is invalid too, so nothing passes
// unchecked.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir] = process.argv.slice(2);
if (!packageDir) {
  console.error("usage: validate-prometheus-operator.mjs PACKAGE_DIR < objects.json");
  process.exit(2);
}
const objects = JSON.parse(readFileSync(0, "utf8"));

const models = new Map();
async function modelsOf(apiVersion) {
  if (!models.has(apiVersion)) {
    const index = join(packageDir, apiVersion, "index.js");
    models.set(apiVersion, await import(pathToFileURL(index)).catch(() => null));
  }
  return models.get(apiVersion);
}

const failures = [];
for (const object of objects) {
  const name = `${object.kind}/${object.metadata?.name} (${object.apiVersion})`;
  const exported = await modelsOf(object.apiVersion);
  const Model = exported && Object.values(exported).find(
    (candidate) => candidate.apiVersion === object.apiVersion && candidate.kind === object.kind,
  );
  if (!Model) {
    failures.push(`${name}: no schema for this kind`);
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    failures.push(`${name}: ${error.message}`);
  }
}
for (const failure of failures) console.log(failure);
console.log(`${objects.length - failures.length} of ${objects.length} objects valid`);
process.exit(failures.length ? 1 : 0);
