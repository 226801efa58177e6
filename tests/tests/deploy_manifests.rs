//! The deploy bundle (deploy/): every kustomization renders, every rendered
//! object validates against the Kubernetes and Prometheus Operator schemas,
//! and the manifests hold what a reviewer checks (least-privilege RBAC,
//! hardened and sized containers, no secrets, a ServiceMonitor and a
//! NetworkPolicy for every exporter). The systemd units pass
//! `systemd-analyze`, and the Dockerfile builds the workspace's binaries.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use e2e::http;
use e2e::process::Running;
use e2e::tools::workspace;
use serde::Deserialize as _;
use serde_json::Value;

/// The Kubernetes version the built-in kinds are validated against: the
/// oldest that the bundle supports (kubectl's here).
const KUBERNETES_VERSION: &str = "1.32";

/// The exporters, each a workspace binary, a container image and a unit.
const EXPORTERS: [&str; 4] = [
    "node-exporter",
    "kube-state-exporter",
    "redis-exporter",
    "firebase-exporter",
];

fn deploy() -> PathBuf {
    workspace().join("deploy")
}

/// One `kubectl kustomize` output: a kustomization directory and its objects.
struct Rendering {
    name: String,
    objects: Vec<Value>,
}

impl Rendering {
    fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |o| o["kind"] == kind)
    }

    /// Pod templates with their workload's `Kind/name`.
    fn pod_templates(&self) -> Vec<(String, &Value)> {
        self.objects
            .iter()
            .filter(|o| matches!(o["kind"].as_str(), Some("Deployment" | "DaemonSet")))
            .map(|o| (object_name(o), &o["spec"]["template"]))
            .collect()
    }
}

fn object_name(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// The base and every overlay, rendered once for all the tests.
fn renderings() -> &'static [Rendering] {
    static RENDERED: OnceLock<Vec<Rendering>> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let kubernetes = deploy().join("kubernetes");
        let mut directories = vec![kubernetes.join("base")];
        let mut overlays: Vec<PathBuf> = std::fs::read_dir(kubernetes.join("overlays"))
            .expect("deploy/kubernetes/overlays exists")
            .map(|entry| entry.expect("overlays are listable").path())
            .collect();
        overlays.sort();
        assert!(
            overlays.len() >= 2,
            "expected the overlays workload-identity and no-prometheus-operator, found {overlays:?}"
        );
        directories.extend(overlays);
        directories.iter().map(|dir| render(dir)).collect()
    })
}

fn render(directory: &Path) -> Rendering {
    let output = Command::new(e2e::tools::path("kubectl"))
        .arg("kustomize")
        .arg(directory)
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl kustomize {} failed: {}",
        directory.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("kustomize writes UTF-8");
    let objects: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).expect("kustomize writes valid YAML"))
        .collect();
    let name = directory
        .file_name()
        .expect("a kustomization directory has a name")
        .to_string_lossy()
        .into_owned();
    assert!(!objects.is_empty(), "{name} renders no objects");
    Rendering { name, objects }
}

fn is_prometheus_operator_kind(object: &Value) -> bool {
    object["apiVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with("monitoring.coreos.com/"))
}

fn run_with_input(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("the validator reads its input");
    child.wait_with_output().expect("the validator finishes")
}

fn installed_tool(relative: &str) -> PathBuf {
    let path = workspace().join(".tools").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which installs it",
        path.display()
    );
    path
}

/// Validates built-in kinds with kubernetes-validate in strict mode (unknown
/// fields are errors), failing on any object it has no schema for.
fn validate_builtin(rendering: &Rendering, objects: &[&Value]) {
    let documents: Vec<String> = objects
        .iter()
        .map(|o| serde_json::to_string(o).expect("objects serialise"))
        .collect();
    let file = tempfile::Builder::new()
        .suffix(".yaml")
        .tempfile()
        .expect("a temporary file");
    std::fs::write(file.path(), documents.join("\n---\n")).expect("the temporary file is writable");
    let output = Command::new(installed_tool(
        "kubernetes-validate/bin/kubernetes-validate",
    ))
    .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
    .arg(file.path())
    .output()
    .expect("kubernetes-validate runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let passed = said.lines().filter(|l| l.starts_with("INFO ")).count();
    assert!(
        output.status.success() && passed == objects.len() && !said.contains("WARN"),
        "{}: {passed} of {} objects validated:\n{said}",
        rendering.name,
        objects.len()
    );
}

/// Validates Prometheus Operator kinds with the schemas of its API types
/// (npm @kubernetes-models/prometheus-operator).
fn validate_prometheus_operator(rendering: &Rendering, objects: &[&Value]) {
    let script = workspace().join("tests/tools/validate-prometheus-operator.mjs");
    let package = installed_tool(
        "prometheus-operator-models/node_modules/@kubernetes-models/prometheus-operator",
    );
    let input = serde_json::to_string(objects).expect("objects serialise");
    let output = run_with_input(
        Command::new(e2e::tools::path("node"))
            .arg(script)
            .arg(package),
        &input,
    );
    assert!(
        output.status.success(),
        "{}: Prometheus Operator objects do not validate:\n{}{}",
        rendering.name,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_rendered_object_validates_against_its_schema() {
    for rendering in renderings() {
        let (operator, builtin): (Vec<&Value>, Vec<&Value>) = rendering
            .objects
            .iter()
            .partition(|o| is_prometheus_operator_kind(o));
        validate_builtin(rendering, &builtin);
        if !operator.is_empty() {
            validate_prometheus_operator(rendering, &operator);
        }
    }
}

#[test]
fn the_no_operator_overlay_has_no_operator_objects_and_the_others_do() {
    for rendering in renderings() {
        let operator_kinds: Vec<String> = rendering
            .objects
            .iter()
            .filter(|o| is_prometheus_operator_kind(o))
            .map(object_name)
            .collect();
        if rendering.name == "no-prometheus-operator" {
            assert!(operator_kinds.is_empty(), "left over: {operator_kinds:?}");
        } else {
            assert!(
                operator_kinds
                    .iter()
                    .any(|k| k.starts_with("ServiceMonitor/")),
                "{} has no ServiceMonitor",
                rendering.name
            );
        }
    }
}

/// The alert and recording rules of `deploy/prometheus/rules/`, file by file
/// in name order: the groups the PrometheusRule must carry.
fn shipped_rule_groups() -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy().join("prometheus/rules"))
        .expect("deploy/prometheus/rules exists")
        .map(|entry| entry.expect("rule files are listable").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no rule files in deploy/prometheus/rules"
    );
    files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).expect("rule files are readable");
            let rules: Value = serde_yaml_ng::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not YAML: {e}", file.display()));
            rules["groups"]
                .as_array()
                .unwrap_or_else(|| panic!("{} has no groups", file.display()))
                .clone()
        })
        .collect()
}

/// The PrometheusRule is the rule files in the Operator's wrapping, so a
/// cluster and a plain host alert alike. It is written from them (rerun with
/// `UPDATE_GOLDEN=1` after changing a rule file) and checked here.
#[test]
fn the_prometheus_rule_carries_the_shipped_rule_files() {
    let path = deploy().join("kubernetes/base/prometheusrule.yaml");
    let groups = Value::Array(shipped_rule_groups());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let rule = serde_json::json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {
                "name": "rust-exporters",
                "labels": {"app.kubernetes.io/name": "rust-exporters"}
            },
            "spec": {"groups": groups}
        });
        let text = format!(
            "# Written from deploy/prometheus/rules/*.yml by tests/tests/deploy_manifests.rs\n\
             # (UPDATE_GOLDEN=1 cargo test -p e2e --test deploy_manifests): edit those files.\n{}",
            serde_yaml_ng::to_string(&rule).expect("rules serialise")
        );
        std::fs::write(&path, text).expect("prometheusrule.yaml is writable");
    }
    let text = std::fs::read_to_string(&path)
        .expect("prometheusrule.yaml exists (UPDATE_GOLDEN=1 writes it)");
    let written: Value = serde_yaml_ng::from_str(&text).expect("prometheusrule.yaml is YAML");
    assert!(
        written["spec"]["groups"] == groups,
        "prometheusrule.yaml differs from deploy/prometheus/rules: rerun with UPDATE_GOLDEN=1"
    );
    let base = renderings()
        .iter()
        .find(|r| r.name == "base")
        .expect("the base renders");
    let rendered: Vec<&Value> = base.of_kind("PrometheusRule").collect();
    assert!(
        rendered.len() == 1 && rendered[0]["spec"]["groups"] == groups,
        "the base must render the one PrometheusRule: {rendered:?}"
    );
}

/// The resources kube-state-exporter watches, as `(API group, plural)`, read
/// from the `resources::ALL` table of its source.
fn watched_resources() -> BTreeSet<(String, String)> {
    let source =
        std::fs::read_to_string(workspace().join("kube-state-exporter/src/resources/mod.rs"))
            .expect("the resource table is readable");
    let table = source
        .split("pub const ALL: &[Registration] = &[")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("resources::ALL is in mod.rs");
    let watched: BTreeSet<(String, String)> = table
        .lines()
        .filter_map(|line| {
            let path = line
                .trim()
                .strip_prefix("Registration::of::<k8s_openapi::api::")?
                .strip_suffix(">(),")?;
            let mut parts = path.split("::");
            let (group, _version, kind) = (parts.next()?, parts.next()?, parts.next()?);
            let group = if group == "core" { "" } else { group };
            Some((group.to_owned(), format!("{}s", kind.to_lowercase())))
        })
        .collect();
    assert_eq!(
        watched.len(),
        table.matches("Registration::of").count(),
        "every entry of resources::ALL is understood"
    );
    watched
}

#[test]
fn cluster_role_lists_and_watches_exactly_the_watched_resources() {
    let watched = watched_resources();
    assert!(watched.contains(&("batch".to_owned(), "cronjobs".to_owned())));
    for rendering in renderings() {
        let roles: Vec<&Value> = rendering.of_kind("ClusterRole").collect();
        assert_eq!(roles.len(), 1, "{}: one ClusterRole", rendering.name);
        let mut granted = BTreeSet::new();
        for rule in roles[0]["rules"].as_array().expect("the role has rules") {
            let verbs: BTreeSet<&str> = rule["verbs"]
                .as_array()
                .expect("a rule has verbs")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(verbs, BTreeSet::from(["list", "watch"]), "rule {rule}");
            assert!(
                rule.get("nonResourceURLs").is_none() && rule.get("resourceNames").is_none(),
                "rule {rule}"
            );
            for group in rule["apiGroups"].as_array().expect("a rule has groups") {
                for resource in rule["resources"].as_array().expect("a rule has resources") {
                    let group = group.as_str().expect("groups are strings").to_owned();
                    let resource = resource.as_str().expect("resources are strings").to_owned();
                    assert!(
                        !group.contains('*') && !resource.contains('*'),
                        "no wildcards: {rule}"
                    );
                    granted.insert((group, resource));
                }
            }
        }
        assert_eq!(
            granted, watched,
            "{}: the ClusterRole's grants",
            rendering.name
        );
        // Bound to the exporter's ServiceAccount, which is the only one with
        // a token.
        let binding = rendering
            .of_kind("ClusterRoleBinding")
            .find(|b| b["roleRef"]["name"] == roles[0]["metadata"]["name"])
            .expect("the ClusterRole is bound");
        assert_eq!(binding["subjects"][0]["name"], "kube-state-exporter");
    }
}

fn quantity_set(resources: &Value, class: &str, resource: &str) -> bool {
    resources[class][resource]
        .as_str()
        .is_some_and(|q| !q.is_empty())
}

#[test]
fn every_container_is_hardened_sized_and_probed() {
    for rendering in renderings() {
        let bound_accounts: BTreeSet<&str> = rendering
            .objects
            .iter()
            .filter(|o| {
                matches!(
                    o["kind"].as_str(),
                    Some("ClusterRoleBinding" | "RoleBinding")
                )
            })
            .flat_map(|b| b["subjects"].as_array().into_iter().flatten())
            .filter_map(|s| s["name"].as_str())
            .collect();
        let templates = rendering.pod_templates();
        assert_eq!(
            templates.len(),
            EXPORTERS.len(),
            "{}: one workload per exporter",
            rendering.name
        );
        for (workload, template) in templates {
            let at = format!("{}: {workload}", rendering.name);
            let pod = &template["spec"];
            let pod_security = &pod["securityContext"];
            assert_eq!(pod_security["runAsNonRoot"], true, "{at}");
            assert!(
                pod_security["runAsUser"]
                    .as_u64()
                    .is_some_and(|uid| uid != 0),
                "{at}"
            );
            assert_eq!(
                pod_security["seccompProfile"]["type"], "RuntimeDefault",
                "{at}"
            );
            let account = pod["serviceAccountName"].as_str().unwrap_or("default");
            let needs_token = bound_accounts.contains(account);
            assert_eq!(
                pod["automountServiceAccountToken"], needs_token,
                "{at}: a token only where RBAC grants something"
            );
            let containers = pod["containers"].as_array().expect("containers");
            assert!(pod.get("initContainers").is_none(), "{at}");
            for container in containers {
                let at = format!("{at} container {}", container["name"]);
                let resources = &container["resources"];
                for (class, resource) in [
                    ("requests", "cpu"),
                    ("requests", "memory"),
                    ("limits", "cpu"),
                    ("limits", "memory"),
                ] {
                    assert!(
                        quantity_set(resources, class, resource),
                        "{at}: {class}.{resource}"
                    );
                }
                assert_eq!(
                    container["readinessProbe"]["httpGet"]["path"], "/readyz",
                    "{at}"
                );
                let liveness = container["livenessProbe"]["httpGet"]["path"].as_str();
                assert!(
                    matches!(liveness, Some("/healthz" | "/livez")),
                    "{at}: {liveness:?}"
                );
                let security = &container["securityContext"];
                assert_eq!(security["allowPrivilegeEscalation"], false, "{at}");
                assert_eq!(security["readOnlyRootFilesystem"], true, "{at}");
                assert_eq!(
                    security["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{at}"
                );
                assert!(
                    security["capabilities"].get("add").is_none(),
                    "{at}: no capability added"
                );
                assert!(
                    security.get("privileged").is_none_or(|p| p == false),
                    "{at}"
                );
                assert!(security.get("runAsUser").is_none_or(|u| u != 0), "{at}");
            }
        }
    }
}

#[test]
fn no_secret_travels_with_the_bundle() {
    for rendering in renderings() {
        for secret in rendering.of_kind("Secret") {
            assert!(
                secret.get("data").is_none() && secret.get("stringData").is_none(),
                "{}: {} carries data",
                rendering.name,
                object_name(secret)
            );
        }
        for (workload, template) in rendering.pod_templates() {
            for container in template["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for env in container["env"].as_array().into_iter().flatten() {
                    let name = env["name"].as_str().unwrap_or_default();
                    let secret_like = ["PASSWORD", "TOKEN", "SECRET"]
                        .iter()
                        .any(|word| name.contains(word));
                    assert!(
                        !secret_like || env.get("value").is_none(),
                        "{}: {workload} sets {name} inline",
                        rendering.name
                    );
                }
                for arg in container["args"].as_array().into_iter().flatten() {
                    let arg = arg.as_str().unwrap_or_default();
                    assert!(
                        !arg.starts_with("--redis.password="),
                        "{}: {workload} passes a password inline",
                        rendering.name
                    );
                }
            }
        }
    }
}

#[test]
fn node_exporter_sees_the_host_from_every_node() {
    for rendering in renderings() {
        let daemonset = rendering
            .of_kind("DaemonSet")
            .find(|d| d["metadata"]["name"] == "node-exporter")
            .expect("node-exporter is a DaemonSet");
        let pod = &daemonset["spec"]["template"]["spec"];
        assert_eq!(pod["hostNetwork"], true);
        assert_eq!(pod["hostPID"], true);
        let tolerations = pod["tolerations"].as_array().expect("tolerations");
        assert!(
            tolerations.iter().any(|t| t["operator"] == "Exists"
                && t.get("key").is_none()
                && t.get("effect").is_none()),
            "{}: tolerates every taint: {tolerations:?}",
            rendering.name
        );
        let root_volume = pod["volumes"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["hostPath"]["path"] == "/"))
            .expect("the host's / is a volume");
        let container = &pod["containers"][0];
        let mount = container["volumeMounts"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["name"] == root_volume["name"]))
            .expect("the host's / is mounted");
        assert_eq!(mount["mountPath"], "/host/root");
        assert_eq!(mount["readOnly"], true);
        assert_eq!(mount["mountPropagation"], "HostToContainer");
        let args: BTreeSet<&str> = container["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for expected in [
            "--path.procfs=/host/root/proc",
            "--path.sysfs=/host/root/sys",
            "--path.rootfs=/host/root",
            "--path.udev.data=/host/root/run/udev/data",
        ] {
            assert!(args.contains(expected), "{}: {expected}", rendering.name);
        }
    }
}

/// Where `container` sees Secret volumes mounted.
fn secret_mounts(pod: &Value, container: &Value) -> Vec<String> {
    let secret_volumes: BTreeSet<&str> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v.get("secret").is_some())
        .filter_map(|v| v["name"].as_str())
        .collect();
    container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["name"]
                .as_str()
                .is_some_and(|n| secret_volumes.contains(n))
        })
        .filter_map(|m| m["mountPath"].as_str().map(|p| format!("{p}/")))
        .collect()
}

fn workload<'a>(rendering: &'a Rendering, name: &str) -> (&'a Value, &'a Value) {
    let template = rendering
        .pod_templates()
        .into_iter()
        .find(|(workload, _)| workload == &format!("Deployment/{name}"))
        .unwrap_or_else(|| panic!("{}: no Deployment/{name}", rendering.name))
        .1;
    let pod = &template["spec"];
    (pod, &pod["containers"][0])
}

#[test]
fn credentials_come_from_mounted_secrets_or_workload_identity() {
    for rendering in renderings() {
        let (pod, redis) = workload(rendering, "redis-exporter");
        let password_file = redis["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(|arg| arg.strip_prefix("--redis.password-file="))
            .expect("redis-exporter reads its passwords from a file");
        assert!(
            secret_mounts(pod, redis)
                .iter()
                .any(|m| password_file.starts_with(m)),
            "{}: {password_file} is in a mounted Secret",
            rendering.name
        );

        let (pod, firebase) = workload(rendering, "firebase-exporter");
        let key_file = firebase["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "GOOGLE_APPLICATION_CREDENTIALS")
            .and_then(|e| e["value"].as_str());
        let account = rendering
            .of_kind("ServiceAccount")
            .find(|a| a["metadata"]["name"] == pod["serviceAccountName"])
            .expect("firebase-exporter has its own ServiceAccount");
        let google_account = &account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"];
        if rendering.name == "workload-identity" {
            assert_eq!(key_file, None, "no key with Workload Identity");
            assert!(secret_mounts(pod, firebase).is_empty());
            assert!(google_account.is_string());
            assert_eq!(
                pod["nodeSelector"]["iam.gke.io/gke-metadata-server-enabled"],
                "true"
            );
        } else {
            let key_file = key_file.expect("the key's path is in GOOGLE_APPLICATION_CREDENTIALS");
            assert!(
                secret_mounts(pod, firebase)
                    .iter()
                    .any(|m| key_file.starts_with(m)),
                "{}: {key_file} is in a mounted Secret",
                rendering.name
            );
            assert!(
                google_account.is_null(),
                "{}: one source of credentials",
                rendering.name
            );
        }
    }
}

fn labels(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn selects(selector: &Value, labels: &BTreeMap<String, String>) -> bool {
    let wanted = self::labels(selector);
    !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn every_metrics_service_is_monitored_on_every_port() {
    for rendering in renderings() {
        let monitors: Vec<&Value> = rendering.of_kind("ServiceMonitor").collect();
        let services: Vec<&Value> = rendering
            .of_kind("Service")
            .filter(|s| s["metadata"]["labels"]["metrics"] == "true")
            .collect();
        assert_eq!(services.len(), EXPORTERS.len(), "{}", rendering.name);
        if monitors.is_empty() {
            continue;
        }
        for service in services {
            let service_labels = labels(&service["metadata"]["labels"]);
            let scraped_ports: BTreeSet<&str> = monitors
                .iter()
                .filter(|m| selects(&m["spec"]["selector"]["matchLabels"], &service_labels))
                .flat_map(|m| m["spec"]["endpoints"].as_array().into_iter().flatten())
                .filter_map(|e| e["port"].as_str())
                .collect();
            let ports: BTreeSet<&str> = service["spec"]["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(
                scraped_ports,
                ports,
                "{}: {} is scraped on each of its ports",
                rendering.name,
                object_name(service)
            );
        }
    }
}

#[test]
fn only_prometheus_reaches_the_exporters() {
    for rendering in renderings() {
        let policies: Vec<&Value> = rendering.of_kind("NetworkPolicy").collect();
        for (workload, template) in rendering.pod_templates() {
            let pod_labels = labels(&template["metadata"]["labels"]);
            let policy = policies
                .iter()
                .find(|p| selects(&p["spec"]["podSelector"]["matchLabels"], &pod_labels))
                .unwrap_or_else(|| {
                    panic!("{}: no NetworkPolicy selects {workload}", rendering.name)
                });
            assert_eq!(
                policy["spec"]["policyTypes"],
                serde_json::json!(["Ingress"])
            );
            let rules = policy["spec"]["ingress"].as_array().expect("ingress rules");
            assert!(!rules.is_empty());
            for peer in rules
                .iter()
                .flat_map(|r| r["from"].as_array().expect("peers"))
            {
                assert_eq!(
                    peer["podSelector"]["matchLabels"],
                    serde_json::json!({"app.kubernetes.io/name": "prometheus"}),
                    "{}: {workload}",
                    rendering.name
                );
                assert_eq!(
                    peer["namespaceSelector"]["matchLabels"],
                    serde_json::json!({"kubernetes.io/metadata.name": "monitoring"}),
                    "{}: {workload}",
                    rendering.name
                );
            }
        }
    }
}

/// The long flags `binary --help` lists.
fn flags_of(binary: &str) -> BTreeSet<String> {
    let output = Command::new(e2e::binary::path(binary))
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "{binary} --help");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("--"))
        .map(|flag| {
            flag.split(['=', ',', '[', '<'])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|flag| !flag.is_empty())
        .collect()
}

fn flag_name(arg: &str) -> Option<&str> {
    let flag = arg.strip_prefix("--")?;
    Some(flag.split('=').next().unwrap_or(flag))
}

/// Flags passed in the manifests and the systemd environment files, by
/// binary.
fn flags_passed() -> BTreeMap<String, BTreeSet<String>> {
    let mut passed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rendering in renderings() {
        for (_, template) in rendering.pod_templates() {
            for container in template["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let image = container["image"].as_str().expect("an image");
                let binary = image
                    .rsplit('/')
                    .next()
                    .and_then(|name| name.split(':').next())
                    .expect("image names end with the binary");
                let flags = passed.entry(binary.to_owned()).or_default();
                for arg in container["args"].as_array().into_iter().flatten() {
                    flags.extend(arg.as_str().and_then(flag_name).map(str::to_owned));
                }
            }
        }
    }
    for exporter in EXPORTERS {
        let defaults = std::fs::read_to_string(deploy().join("systemd/default").join(exporter))
            .expect("every unit has an example environment file");
        let flags = passed.entry(exporter.to_owned()).or_default();
        for line in defaults.lines() {
            let Some(value) = line.trim_start_matches('#').strip_prefix("ARGS=") else {
                continue;
            };
            flags.extend(
                value
                    .trim_matches('"')
                    .split_whitespace()
                    .filter_map(flag_name)
                    .map(str::to_owned),
            );
        }
    }
    passed
}

#[test]
fn every_flag_in_the_bundle_is_a_flag_of_its_binary() {
    let passed = flags_passed();
    assert_eq!(
        passed.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(EXPORTERS),
        "the images are the workspace's binaries"
    );
    for (binary, flags) in passed {
        let known = flags_of(&binary);
        let unknown: Vec<&String> = flags.iter().filter(|f| !known.contains(*f)).collect();
        assert!(unknown.is_empty(), "{binary} has no flags {unknown:?}");
    }
}

#[tokio::test]
async fn node_exporter_reads_timex_without_any_capability() {
    // The DaemonSet and the unit drop every capability on the strength of
    // this: adjtimex(2) with modes 0 needs none.
    let effective_uid = std::fs::metadata("/proc/self")
        .expect("/proc is mounted")
        .uid();
    if effective_uid != 0 {
        println!("skipped: dropping to nobody needs root");
        return;
    }
    let node_exporter = e2e::binary::path("node-exporter");
    let exporter = Running::start(
        &e2e::tools::path("setpriv"),
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            node_exporter.to_str().expect("a UTF-8 path"),
            "--web.listen-address=127.0.0.1:0",
            "--collector.disable-defaults",
            "--collector.timex",
        ],
        &[],
        1,
    );
    let metrics = http::get(exporter.addr(), "/metrics")
        .await
        .expect("node-exporter answers")
        .text();
    assert!(
        metrics.contains("node_scrape_collector_success{collector=\"timex\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("node_timex_sync_status"), "{metrics}");
}

/// A unit as installed, with ExecStart pointing at the binary just built
/// (systemd-analyze verify checks that it exists and is executable).
fn unit_with_built_binary(exporter: &str, directory: &Path) -> PathBuf {
    let file = format!("{exporter}.service");
    let unit = std::fs::read_to_string(deploy().join("systemd").join(&file))
        .expect("every exporter has a unit");
    let installed = format!("ExecStart=/usr/local/bin/{exporter} ");
    assert!(
        unit.contains(&installed),
        "{file} runs /usr/local/bin/{exporter}"
    );
    assert!(
        unit.contains(&format!("EnvironmentFile=-/etc/default/{exporter}\n")),
        "{file} reads /etc/default/{exporter}"
    );
    let built = format!("ExecStart={} ", e2e::binary::path(exporter).display());
    let path = directory.join(file);
    std::fs::write(&path, unit.replace(&installed, &built)).expect("the unit is writable");
    path
}

fn systemd_analyze() -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("systemd-analyze"))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        println!("skipped: systemd-analyze is not installed (Debian's systemd package has it)");
    }
    found
}

#[test]
fn systemd_units_verify_and_are_hardened() {
    let Some(analyze) = systemd_analyze() else {
        return;
    };
    let directory = tempfile::tempdir().expect("a temporary directory");
    for exporter in EXPORTERS {
        let unit = unit_with_built_binary(exporter, directory.path());
        // verify exits 0 on unknown keys and bad values, which it only
        // reports: anything it says is a finding.
        let verify = Command::new(&analyze)
            .args(["verify", "--man=no"])
            .arg(&unit)
            .output()
            .expect("systemd-analyze runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr)
        );
        assert!(
            verify.status.success() && said.is_empty(),
            "{exporter}: {said}"
        );
        // An overall exposure of at most 2.0, "OK" in systemd's terms.
        let security = Command::new(&analyze)
            .args([
                "security",
                "--offline=yes",
                "--threshold=20",
                "--json=short",
            ])
            .arg(&unit)
            .output()
            .expect("systemd-analyze runs");
        let report = String::from_utf8_lossy(&security.stdout);
        assert!(
            security.status.success(),
            "{exporter}: too exposed:\n{report}"
        );
        let checks: Vec<Value> = serde_json::from_str(&report).expect("a JSON report");
        let passes = |name: &str| {
            checks
                .iter()
                .find(|check| check["name"] == name)
                .unwrap_or_else(|| panic!("{exporter}: no {name} in the report"))["set"]
                == true
        };
        // The timex collector reads with adjtimex (in @clock), which the
        // system call filter must let through for node-exporter alone;
        // setting the clock stays impossible without CAP_SYS_TIME.
        assert_eq!(
            passes("SystemCallFilter=~@clock"),
            exporter != "node-exporter",
            "{exporter}: adjtimex allowed for node-exporter only"
        );
        assert!(passes("CapabilityBoundingSet=~CAP_SYS_TIME"), "{exporter}");
        let text = std::fs::read_to_string(&unit).expect("the unit is readable");
        for directive in [
            "DynamicUser=yes",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "CapabilityBoundingSet=\n",
            "SystemCallFilter=@system-service",
        ] {
            assert!(text.contains(directive), "{exporter}: {directive}");
        }
        let families = text
            .lines()
            .find_map(|l| l.strip_prefix("RestrictAddressFamilies="))
            .unwrap_or_else(|| panic!("{exporter}: RestrictAddressFamilies="));
        assert_eq!(
            families.contains("AF_NETLINK"),
            exporter == "node-exporter",
            "{exporter}: netlink for node-exporter only"
        );
    }
}

#[test]
fn dockerfile_builds_each_binary_into_a_non_root_stage() {
    let dockerfile =
        std::fs::read_to_string(deploy().join("Dockerfile")).expect("deploy/Dockerfile");
    let build_command = dockerfile
        .split("cargo build")
        .nth(1)
        .and_then(|rest| rest.split("&&").next())
        .expect("the build stage runs cargo build");
    let stages: Vec<&str> = dockerfile.split("\nFROM ").skip(1).collect();
    let mut final_stages = BTreeSet::new();
    for stage in stages {
        let name = stage
            .lines()
            .next()
            .and_then(|from| from.split(" AS ").nth(1))
            .expect("every stage is named")
            .trim();
        if name == "build" {
            continue;
        }
        final_stages.insert(name);
        assert!(
            workspace().join(name).join("Cargo.toml").is_file(),
            "stage {name} is a workspace binary"
        );
        assert!(
            build_command.contains(&format!("--bin {name}")),
            "{name} is built"
        );
        assert!(
            stage.contains(&format!("COPY --from=build /out/{name} /bin/{name}")),
            "{name}"
        );
        assert!(
            stage.contains(&format!("ENTRYPOINT [\"/bin/{name}\"]")),
            "{name}"
        );
        let user = stage
            .lines()
            .find_map(|l| l.strip_prefix("USER "))
            .unwrap_or_else(|| panic!("stage {name} sets USER"));
        let uid = user.split(':').next().expect("a uid");
        assert!(
            uid.parse::<u32>().is_ok_and(|uid| uid != 0),
            "stage {name}: USER {user}"
        );
    }
    assert_eq!(final_stages, BTreeSet::from(EXPORTERS));
}
